import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "events", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("events is not implemented yet") }
    }
}
