import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "commit", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("commit is not implemented yet") }
    }
}
