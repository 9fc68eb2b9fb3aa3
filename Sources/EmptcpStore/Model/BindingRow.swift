/// One binding with its flow key's fields held in place: what the store's row reader hands out
/// (`RevisionContent.forEachBinding`) and what the map encoder turns into a key. Unlike
/// `Binding`, it holds no array per address, so 100k of them stream from SQLite into map keys
/// without an allocation per row. `binding` builds the full value when one is needed.
public struct BindingRow: Sendable, Equatable {
    public var hook: Hook
    public var selector: SelectorKind
    public var local: InlineAddress?
    public var localPort: UInt16?
    public var remote: InlineAddress?
    public var remotePort: UInt16?
    public var chain: String

    public init(
        hook: Hook, selector: SelectorKind, local: InlineAddress? = nil, localPort: UInt16? = nil,
        remote: InlineAddress? = nil, remotePort: UInt16? = nil, chain: String
    ) {
        self.hook = hook
        self.selector = selector
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.chain = chain
    }

    public init(_ binding: Binding) {
        let k = binding.key
        self.init(hook: k.hook, selector: k.selector, local: k.local.map(InlineAddress.init), localPort: k.localPort,
                  remote: k.remote.map(InlineAddress.init), remotePort: k.remotePort, chain: binding.chain)
    }

    /// The binding's identity, as `Binding.key` (its `description` names the binding in errors).
    public var key: BindingKey {
        BindingKey(hook: hook, selector: selector, local: local?.address, localPort: localPort,
                   remote: remote?.address, remotePort: remotePort)
    }

    public var binding: Binding { Binding(key, chain: chain) }
}
