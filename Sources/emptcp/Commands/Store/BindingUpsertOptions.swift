import ArgumentParser
import EmptcpStore

/// What `binding add` and `binding set` both take: a key, the chain it points at, and the commit
/// they make. The two differ only in whether the key must be bound already.
struct BindingUpsertOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @OptionGroup var key: BindingKeyOptions
    @Option(help: ArgumentHelp("Action chain the flows take.", valueName: "name")) var chain: String
    @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?
    @Flag(name: .long, help: "Change and apply even though the pin root belongs to another store (it becomes this store's).")
    var force = false

    /// Commits the binding, refused unless its key's presence is `requires`; `action` names the
    /// command in the audit log.
    func commit(requires: BindingChanges.KeyPresence, action: String) throws {
        let change = BindingChanges(upsert: [Binding(key.key, chain: chain)], upsertRequires: requires)
        try DataPlaneSession(global: global).commitBindingChange(change, message: message, action: action, force: force)
    }
}
