/// One revision's content as `PolicyStore.withContent(at:)` lends it: the selector and action
/// chains (a few rows) as values, the bindings (up to 100k and more) streamed row by row, so a
/// map encoder builds keys from the rows without a `Policy` in between. Valid only inside
/// `withContent`, whose read transaction keeps the three consistent.
public struct RevisionContent {
    public let revision: Revision
    public let selectors: [Hook: [SelectorStep]]
    public let chains: [String: [ActorCall]]
    let store: PolicyStore

    /// Hands every binding to `body`, in row order (a policy's own order for the rows one
    /// commit wrote). Throws `StoreError.corruptRow` at a row no commit writes.
    public func forEachBinding(_ body: (BindingRow) throws -> Void) throws {
        try store.forEachBinding(at: revision.id, body)
    }
}
