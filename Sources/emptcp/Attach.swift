import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "attach", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("attach is not implemented yet") }
    }
}
