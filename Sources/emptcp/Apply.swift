import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("apply is not implemented yet") }
    }
}
