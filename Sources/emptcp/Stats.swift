import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("stats is not implemented yet") }
    }
}
