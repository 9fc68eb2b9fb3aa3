import CLibbpf
import EmptcpStore

/// One hook's share of a `DesiredState` while its bindings arrive (DesiredStateEncoder): the
/// selector chain value, the tcp2/tcp4 keys with their chain index values and the `tcp`
/// default (the prefilter words are computed from the keys when asked, `DesiredState.prefilter`).
struct HookEncoder {
    let hook: Hook
    private let selectorChain: Bytes
    /// Chain name → index on this hook (`MapEncoder.chainIndexes`).
    private let indexes: [String: UInt32]
    /// Built-in objects the selector and action chains name.
    private var programs: Set<String> = []
    /// Chains named by this hook's bindings.
    private var used = Set<String>()
    /// One value array per chain index, shared by every binding of that chain.
    private var values: [UInt32: Bytes] = [:]
    /// The previous binding's chain: bindings come grouped by chain more often than not, so
    /// an equal name (one String compared, often the very same one) is not looked up again.
    private var last: (chain: String, index: UInt32, value: Bytes)?
    private var tcpDefault: UInt32 = 0
    private var tcp2: [(key: MapKey, value: Bytes)] = []
    private var tcp4: [(key: MapKey, value: Bytes)] = []

    init(_ hook: Hook, steps: [SelectorStep], chains: [String: [ActorCall]], modules: ModuleSlots, prefilter: Bool) throws {
        self.hook = hook
        guard steps.count <= Int(EMPTCP_MAX_SELECTORS) else {
            throw ApplyError.tooLong(what: "selector chain of \(hook.rawValue)", count: steps.count, limit: Int(EMPTCP_MAX_SELECTORS))
        }
        var slots: [(UInt8, UInt8)] = []
        for step in steps {
            let slot: UInt8
            if let builtin = step.builtin {
                slot = MapEncoder.selectorSlot(builtin)
                programs.insert("sel_" + builtin.rawValue)
            } else if let module = modules.selectors[hook]?[step.name] {
                slot = module
            } else {
                throw ApplyError.unknownSelector(hook: hook.rawValue, name: step.name)
            }
            slots.append((slot, step.op == .and ? UInt8(EMPTCP_OP_AND.rawValue) : UInt8(EMPTCP_OP_OR.rawValue)))
        }
        let flags = prefilter && !slots.isEmpty ? UInt8(EMPTCP_SEL_F_PREFILTER) : 0
        selectorChain = MapEncoder.selectorChainValue(slots, flags: flags)
        indexes = try MapEncoder.chainIndexes(hook: hook, names: chains.keys)
    }

    /// Adds one binding of this hook. `room`: bindings still to come, reserved in a key table
    /// at its first key (a hook without tcp2 bindings reserves none).
    mutating func add(_ row: BindingRow, room: Int) throws {
        if last == nil || last!.chain != row.chain {
            guard let index = indexes[row.chain] else {
                throw ApplyError.unknownChain(binding: row.key.description, chain: row.chain)
            }
            used.insert(row.chain)
            let value = values[index] ?? MapEncoder.u32(index)
            values[index] = value
            last = (row.chain, index, value)
        }
        switch row.selector {
        case .tcp:
            tcpDefault = last!.index
        case .tcp2:
            let key = try MapEncoder.tcp2Key(row)
            if tcp2.isEmpty { tcp2.reserveCapacity(room) }
            tcp2.append((key, last!.value))
        case .tcp4:
            let key = try MapEncoder.tcp4Key(row)
            if tcp4.isEmpty { tcp4.reserveCapacity(room) }
            tcp4.append((key, last!.value))
        }
    }

    /// Writes this hook's maps into `state`, with the action chains its bindings name.
    func finish(into state: inout DesiredState, chains: [String: [ActorCall]], modules: ModuleSlots) throws {
        var programs = programs
        var names: [UInt32: String] = [:]
        var chainValues: [MapKey: Bytes] = [:]
        for name in used.sorted() {
            let (actors, index) = (chains[name]!, indexes[name]!)
            names[index] = name
            chainValues[MapEncoder.chainKey(index)] = try MapEncoder.actionChainValue(actors, hook: hook, chain: name, modules: modules)
            for actor in actors {
                if let slot = MapEncoder.actorSlot(actor), let object = Loader.actorSlots.first(where: { $0.value == UInt32(slot) })?.key {
                    programs.insert(object)
                }
            }
        }
        if !programs.isEmpty { state.programs[hook] = programs }
        state.arrays[MapID(hook: hook, kind: .selectorChain)] = [MapEncoder.zeroKey: selectorChain]
        state.arrays[MapID(hook: hook, kind: .chains)] = chainValues
        state.chainNames[hook] = names
        state.arrays[MapID(hook: hook, kind: .tcpDefault)] = [MapEncoder.zeroKey: MapEncoder.u32(tcpDefault)]
        state.bindings[MapID(hook: hook, kind: .tcp2)] = tcp2
        state.bindings[MapID(hook: hook, kind: .tcp4)] = tcp4
    }
}
