import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Module: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "module", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("module is not implemented yet") }
    }
}
