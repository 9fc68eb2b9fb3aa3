import ArgumentParser

// Placeholder until its issue lands.
extension Emptcp {
    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "confirm", abstract: "Not yet implemented.")
        @OptionGroup var global: GlobalOptions
        func run() throws { throw ValidationError("confirm is not implemented yet") }
    }
}
