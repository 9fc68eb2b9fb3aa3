import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "diff", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("diff is not implemented yet") }
    }
}
