/// The whole content of one revision: what a policy file holds.
public struct Policy: Codable, Sendable, Hashable {
    /// Selector chain per hook, in order. A hook without an entry has no selector chain.
    public var selectors: [Hook: [SelectorStep]]
    /// Named action chains, reusable by many bindings.
    public var chains: [String: [ActorCall]]
    /// Flow bindings.
    public var bindings: [Binding]

    public init(selectors: [Hook: [SelectorStep]] = [:], chains: [String: [ActorCall]] = [:], bindings: [Binding] = []) {
        self.selectors = selectors
        self.chains = chains
        self.bindings = bindings
    }

    /// Chain limits, equal to the kernel's (bpf/include/emptcp/abi.h).
    public static let maxSelectorsPerHook = 8
    public static let maxActorsPerChain = 8
    /// Keys one tcp2 or tcp4 binding map of one hook holds (EMPTCP_TCP_KEYS_MAX in
    /// bpf/include/emptcp/maps.h): a policy with more bindings there cannot be applied.
    public static let maxBindingsPerMap = 131_072
}
