import ArgumentParser
import EmptcpStore

extension Emptcp.BindingCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a binding; refused when its key is bound already.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: BindingKeyOptions
        @Option(help: ArgumentHelp("Action chain the flows take.", valueName: "name")) var chain: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?
        @Flag(name: .long, help: "Change and apply even though the pin root belongs to another store (it becomes this store's).")
        var force = false

        func run() throws {
            let change = BindingChanges(upsert: [Binding(key.key, chain: chain)], upsertRequires: .absent)
            try DataPlaneSession(global: global).commitBindingChange(change, message: message, action: "binding add", force: force)
        }
    }
}
