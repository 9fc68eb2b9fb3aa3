import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Daemon: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "daemon", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("daemon is not implemented yet") }
    }
}
