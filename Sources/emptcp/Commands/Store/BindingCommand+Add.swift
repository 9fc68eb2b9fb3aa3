import ArgumentParser

extension Emptcp.BindingCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a binding; refused when its key is bound already.")
        @OptionGroup var upsert: BindingUpsertOptions

        func run() throws {
            try upsert.commit(requires: .absent, action: "binding add")
        }
    }
}
