import ArgumentParser
import EmptcpStore

extension Emptcp.BindingCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a binding; refused when no binding has its key.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: BindingKeyOptions
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?
        @Flag(name: .long, help: "Change and apply even though the pin root belongs to another store (it becomes this store's).")
        var force = false

        func run() throws {
            try DataPlaneSession(global: global).commitBindingChange(BindingChanges(remove: [key.key]), message: message, action: "binding remove", force: force)
        }
    }
}
