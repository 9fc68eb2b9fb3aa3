import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("log is not implemented yet") }
    }
}
