import ArgumentParser

extension Emptcp.BindingCommand {
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Point an existing binding at another chain.")
        @OptionGroup var upsert: BindingUpsertOptions

        func run() throws {
            try upsert.commit(requires: .present, action: "binding set")
        }
    }
}
