import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("status is not implemented yet") }
    }
}
