import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "audit", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("audit is not implemented yet") }
    }
}
