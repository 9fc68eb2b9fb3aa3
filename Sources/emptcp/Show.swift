import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("show is not implemented yet") }
    }
}
