import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("rollback is not implemented yet") }
    }
}
