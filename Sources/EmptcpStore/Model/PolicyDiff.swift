/// What changed between two policies: selector chains per hook, action chains, bindings.
/// A binding is `changed` when its key stays and its chain differs.
public struct PolicyDiff: Codable, Sendable, Hashable {
    public struct SelectorChange: Codable, Sendable, Hashable {
        public var hook: Hook
        public var from: [SelectorStep]
        public var to: [SelectorStep]
    }
    public struct ChainChange: Codable, Sendable, Hashable {
        public var name: String
        public var from: [ActorCall]?
        public var to: [ActorCall]?
    }
    public struct BindingChange: Codable, Sendable, Hashable {
        public var from: Binding
        public var to: Binding
    }

    /// Per hook: the selector chain before and after (only hooks whose chain differs).
    public var selectors: [SelectorChange] = []
    public var chainsAdded: [ChainChange] = []
    public var chainsRemoved: [ChainChange] = []
    public var chainsChanged: [ChainChange] = []
    public var bindingsAdded: [Binding] = []
    public var bindingsRemoved: [Binding] = []
    public var bindingsChanged: [BindingChange] = []

    enum CodingKeys: String, CodingKey {
        case selectors, chainsAdded = "chains_added", chainsRemoved = "chains_removed", chainsChanged = "chains_changed"
        case bindingsAdded = "bindings_added", bindingsRemoved = "bindings_removed", bindingsChanged = "bindings_changed"
    }

    public var isEmpty: Bool {
        selectors.isEmpty && chainsAdded.isEmpty && chainsRemoved.isEmpty && chainsChanged.isEmpty
            && bindingsAdded.isEmpty && bindingsRemoved.isEmpty && bindingsChanged.isEmpty
    }

    public init() {}

    /// Compares two policies.
    public init(from a: Policy, to b: Policy) {
        for hook in Hook.allCases {
            let x = a.selectors[hook] ?? [], y = b.selectors[hook] ?? []
            if x != y { selectors.append(SelectorChange(hook: hook, from: x, to: y)) }
        }
        for name in Set(a.chains.keys).union(b.chains.keys).sorted() {
            switch (a.chains[name], b.chains[name]) {
            case (nil, let y?): chainsAdded.append(ChainChange(name: name, from: nil, to: y))
            case (let x?, nil): chainsRemoved.append(ChainChange(name: name, from: x, to: nil))
            case (let x?, let y?) where x != y: chainsChanged.append(ChainChange(name: name, from: x, to: y))
            default: break
            }
        }
        let old = Dictionary(a.bindings.map { ($0.key, $0) }, uniquingKeysWith: { x, _ in x })
        let new = Dictionary(b.bindings.map { ($0.key, $0) }, uniquingKeysWith: { x, _ in x })
        for (k, y) in new {
            if let x = old[k] {
                if x.chain != y.chain { bindingsChanged.append(BindingChange(from: x, to: y)) }
            } else {
                bindingsAdded.append(y)
            }
        }
        for (k, x) in old where new[k] == nil { bindingsRemoved.append(x) }
        bindingsAdded = Self.sorted(bindingsAdded)
        bindingsRemoved = Self.sorted(bindingsRemoved)
        bindingsChanged = bindingsChanged.map { ($0.from.key.description, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    private static func sorted(_ b: [Binding]) -> [Binding] {
        b.map { ($0.key.description, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
