import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "detach", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("detach is not implemented yet") }
    }
}
