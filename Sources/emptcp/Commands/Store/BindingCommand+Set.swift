import ArgumentParser
import EmptcpStore

extension Emptcp.BindingCommand {
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point an existing binding at another chain.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: BindingKeyOptions
        @Option(help: ArgumentHelp("Action chain the flows take.", valueName: "name")) var chain: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?

        func run() throws {
            let change = BindingChanges(upsert: [Binding(key.key, chain: chain)], upsertRequires: .present)
            try DataPlaneSession(global: global).commitBindingChange(change, message: message)
        }
    }
}
