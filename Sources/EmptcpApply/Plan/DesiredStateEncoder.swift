import EmptcpStore

/// Builds the `DesiredState` of a policy from its selector and action chains and its bindings,
/// handed over one at a time: the one encoder behind `MapEncoder.encode` of a `Policy` and of
/// a revision's store rows. Each binding goes to its hook's `HookEncoder`; nothing keeps the
/// bindings themselves.
struct DesiredStateEncoder {
    private let chains: [String: [ActorCall]]
    private let modules: ModuleSlots
    private let prefilter: Bool
    private var xdp: HookEncoder
    private var tc: HookEncoder
    /// Bindings announced (a capacity hint) and handed over so far.
    private let expected: Int
    private var seen = 0

    /// Encodes the selector chains and numbers the action chains of both hooks; throws what
    /// they cannot be (unknown selector, too long, too many chains).
    /// - Parameter expectedBindings: how many bindings `add` will get (sizes the key tables).
    init(selectors: [Hook: [SelectorStep]], chains: [String: [ActorCall]], modules: ModuleSlots, prefilter: Bool, expectedBindings: Int) throws {
        self.chains = chains
        self.modules = modules
        self.prefilter = prefilter
        expected = expectedBindings
        xdp = try HookEncoder(.xdp, steps: selectors[.xdp] ?? [], chains: chains, modules: modules, prefilter: prefilter)
        tc = try HookEncoder(.tc, steps: selectors[.tc] ?? [], chains: chains, modules: modules, prefilter: prefilter)
    }

    /// Adds one binding's key (and prefilter bits) to its hook's maps; throws when its chain is
    /// unknown or its key is incomplete.
    mutating func add(_ row: BindingRow) throws {
        // Room for every binding still to come, reserved at a hook's first key of a kind.
        let room = Swift.max(expected - seen, 1)
        seen += 1
        switch row.hook {
        case .xdp: try xdp.add(row, room: room)
        case .tc: try tc.add(row, room: room)
        }
    }

    /// The maps of both hooks, with the action chains their bindings name.
    func finish() throws -> DesiredState {
        var state = DesiredState()
        state.prefilterOn = prefilter
        try xdp.finish(into: &state, chains: chains, modules: modules)
        try tc.finish(into: &state, chains: chains, modules: modules)
        return state
    }
}
