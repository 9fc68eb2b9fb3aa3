import CLibbpf
import EmptcpStore

package typealias Bytes = [UInt8]

/// A map key of up to 40 bytes (the largest key, emptcp_tcp4_key), stored inline as five words:
/// no allocation per key and cheap hashing, which matters at 100k bindings.
package struct MapKey: Hashable, Comparable, Sendable {
    static let capacity = 40
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0
    let count: Int

    init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count <= Self.capacity, "map key of \(raw.count) bytes")
        count = raw.count
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: raw) }
        (w0, w1, w2, w3, w4) = words
    }

    package init(_ bytes: Bytes) { self = bytes.withUnsafeBytes { MapKey(raw: $0) } }

    /// The key's bytes without a copy (8-byte aligned).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let words = (w0, w1, w2, w3, w4)
        return try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }

    var bytes: Bytes {
        let words = (w0, w1, w2, w3, w4)
        return withUnsafeBytes(of: words) { Array($0.prefix(count)) }
    }

    /// Byte `index` of the key.
    func byte(at index: Int) -> UInt8 {
        let words = (w0, w1, w2, w3, w4)
        return withUnsafeBytes(of: words) { $0[index] }
    }

    /// The same key with byte `index` set to `value`.
    func setting(byte index: Int, to value: UInt8) -> MapKey {
        var words = (w0, w1, w2, w3, w4)
        withUnsafeMutableBytes(of: &words) { $0[index] = value }
        var copy = self
        (copy.w0, copy.w1, copy.w2, copy.w3, copy.w4) = words
        return copy
    }

    /// Bytewise order: a word loaded in host order, converted to big endian, compares like its bytes.
    package static func < (a: MapKey, b: MapKey) -> Bool {
        if a.w0 != b.w0 { return a.w0.bigEndian < b.w0.bigEndian }
        if a.w1 != b.w1 { return a.w1.bigEndian < b.w1.bigEndian }
        if a.w2 != b.w2 { return a.w2.bigEndian < b.w2.bigEndian }
        if a.w3 != b.w3 { return a.w3.bigEndian < b.w3.bigEndian }
        if a.w4 != b.w4 { return a.w4.bigEndian < b.w4.bigEndian }
        return a.count < b.count
    }
}

/// Slots of operator modules (`emptcp module add`) per hook, by name.
public struct ModuleSlots: Sendable, Hashable {
    public var selectors: [Hook: [String: UInt8]]
    public var actors: [Hook: [String: UInt8]]

    public init(selectors: [Hook: [String: UInt8]] = [:], actors: [Hook: [String: UInt8]] = [:]) {
        self.selectors = selectors
        self.actors = actors
    }
}

/// What the maps must hold for one policy: per managed map, its entries as raw key/value bytes
/// in the ABI layouts of abi.h, with generation 0 in every key (`Generation` stamps the one
/// written).
struct DesiredState: Sendable {
    /// The array maps — selector chain, `tcp` default and action chains — by key.
    var arrays: [MapID: [MapKey: Bytes]] = [:]
    /// The tcp2/tcp4 bindings, in the order they were encoded, each key once (the store's
    /// index and the policy validator make keys unique). A list, not a table: building a
    /// 100k-entry dictionary cost as much as reading the rows, and an apply into empty maps
    /// needs no lookup at all.
    var bindings: [MapID: [(key: MapKey, value: Bytes)]] = [:]
    /// Chain id → name per hook, to describe entries in reports.
    var chainNames: [Hook: [UInt32: String]] = [:]
    /// Per hook, the built-in selector and actor objects (`sel_tcp2`, `set_recv_win`, ...) the
    /// encoded chains name: they must be loaded before the maps name their slots.
    var programs: [Hook: Set<String>] = [:]
    /// Whether the prefilter is on (EMPTCP_SEL_F_PREFILTER is set in the selector chains).
    var prefilterOn = false

    /// Hook `hook`'s prefilter words in `generation`: the bits of its tcp2/tcp4 keys as that
    /// generation's keys hash (the generation byte is part of the key); nil when the prefilter
    /// is off. Computed when asked: an apply needs the standby generation's words alone.
    func prefilter(_ hook: Hook, generation: UInt8) -> PrefilterWords? {
        guard prefilterOn else { return nil }
        return Prefilter.words(of: [MapID.Kind.tcp2, .tcp4].lazy.flatMap { kind in
            (bindings[MapID(hook: hook, kind: kind)] ?? []).lazy.map { Generation.key($0.key, kind, generation) }
        })
    }

    /// Map `id`'s entries by key, whichever field holds them.
    func table(_ id: MapID) -> [MapKey: Bytes] {
        if let list = bindings[id] { return Dictionary(list, uniquingKeysWith: { _, last in last }) }
        return arrays[id] ?? [:]
    }

    /// Every map's entries by key: what a generation holding this state reads back as.
    var tables: [MapID: [MapKey: Bytes]] {
        Dictionary(uniqueKeysWithValues: MapID.all.map { ($0, table($0)) })
    }
}

/// Turns a policy (a `Policy`, or a revision's rows in the store) into map contents. Pure but for
/// the store read: no kernel access.
enum MapEncoder {
    static let zeroKey = MapKey([0, 0, 0, 0])

    /// A chain's hash: FNV-1a 32-bit of "<hook>/<name>", its home index in `chainIndexes`.
    static func chainID(hook: Hook, name: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in "\(hook.rawValue)/\(name)".utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    /// Indexes usable by chains in one generation of `emptcp_<h>_chains`: 1...EMPTCP_CHAIN_SLOTS - 1.
    static let chainSlots = UInt32(EMPTCP_CHAIN_SLOTS) - 1

    /// The chain index (the `emptcp_<h>_chains` slot within a generation, the bindings' value) of
    /// every chain of `policy` on `hook`; see `chainIndexes(hook:names:)`.
    static func chainIndexes(hook: Hook, _ policy: Policy) throws -> [String: UInt32] {
        try chainIndexes(hook: hook, names: policy.chains.keys)
    }

    /// The chain index of every chain name on `hook`. Each name starts at its home slot,
    /// `chainID % 4095 + 1`, and takes the next free one when an earlier name (in name order)
    /// holds it: a function of the policy's chain names alone, so both generations, the runtime
    /// bindings and every apply agree, and adding or removing a chain moves no other chain
    /// unless their slots collide.
    static func chainIndexes<Names: Collection<String>>(hook: Hook, names: Names) throws -> [String: UInt32] {
        let names = names.sorted()
        guard names.count <= Int(chainSlots) else {
            throw ApplyError.tooLong(what: "chain list", count: names.count, limit: Int(chainSlots))
        }
        var taken = Set<UInt32>(minimumCapacity: names.count)
        var indexes: [String: UInt32] = [:]
        for name in names {
            var index = chainID(hook: hook, name: name) % chainSlots + 1
            while taken.contains(index) { index = index % chainSlots + 1 }
            taken.insert(index)
            indexes[name] = index
        }
        return indexes
    }

    static func selectorSlot(_ kind: SelectorKind) -> UInt8 {
        switch kind {
        case .tcp: UInt8(EMPTCP_SEL_TCP.rawValue)
        case .tcp2: UInt8(EMPTCP_SEL_TCP2.rawValue)
        case .tcp4: UInt8(EMPTCP_SEL_TCP4.rawValue)
        }
    }

    static func actorSlot(_ actor: ActorCall) -> UInt8? {
        switch actor {
        case .setRecvWin: UInt8(EMPTCP_ACT_SET_RECV_WIN.rawValue)
        case .setFlowPrio: UInt8(EMPTCP_ACT_SET_FLOW_PRIO.rawValue)
        case .rmAddAddr: UInt8(EMPTCP_ACT_RM_ADD_ADDR.rawValue)
        case .recoverAddAddr: UInt8(EMPTCP_ACT_RECOVER_ADD_ADDR.rawValue)
        case .record: UInt8(EMPTCP_ACT_RECORD.rawValue)
        case .catchMptcpEvents: UInt8(EMPTCP_ACT_CATCH_MPTCP_EVENTS.rawValue)
        case .module: nil
        }
    }

    /// - Parameter prefilter: also compute the prefilter words of the tcp2/tcp4 keys and set
    ///   EMPTCP_SEL_F_PREFILTER in every non-empty selector chain.
    static func encode(_ policy: Policy, modules: ModuleSlots = ModuleSlots(), prefilter: Bool = true) throws -> DesiredState {
        var encoder = try DesiredStateEncoder(
            selectors: policy.selectors, chains: policy.chains, modules: modules, prefilter: prefilter,
            expectedBindings: policy.bindings.count)
        // Read in place, by index: a Binding is not copied out of the array.
        let all = policy.bindings
        for i in all.indices { try encoder.add(BindingRow(all[i])) }
        return try encoder.finish()
    }

    /// Revision `revision` of `store`, encoded straight from its rows (`PolicyStore.withContent`):
    /// no `Policy`, `Binding` or `IPAddress` per binding in between, the same keys and errors as
    /// `encode(_:modules:prefilter:)` of `store.policy(at: revision)`.
    static func encode(revision: Int64, in store: PolicyStore, modules: ModuleSlots = ModuleSlots(), prefilter: Bool = true) throws -> DesiredState {
        try store.withContent(at: revision) { content in
            var encoder = try DesiredStateEncoder(
                selectors: content.selectors, chains: content.chains, modules: modules, prefilter: prefilter,
                expectedBindings: content.revision.bindingCount)
            try content.forEachBinding { try encoder.add($0) }
            return try encoder.finish()
        }
    }

    // MARK: - Layouts (abi.h)

    static func u32(_ value: UInt32) -> Bytes { withUnsafeBytes(of: value) { Array($0) } }

    /// `emptcp_<h>_chains` key of chain `index` in generation 0 (`Generation.key` moves it to
    /// generation g: g * EMPTCP_CHAIN_SLOTS + index).
    static func chainKey(_ index: UInt32) -> MapKey { MapKey(u32(index)) }

    /// A `emptcp_<h>_chains` value that holds no chain (len 0): what an unused index holds.
    static let noChain = Bytes(repeating: 0, count: MemoryLayout<emptcp_action_chain>.size)

    static func selectorChainValue(_ steps: [(slot: UInt8, op: UInt8)], flags: UInt8 = 0) -> Bytes {
        var chain = emptcp_selector_chain()
        chain.len = UInt8(steps.count)
        chain.flags = flags
        withUnsafeMutableBytes(of: &chain.steps) { raw in
            let stride = MemoryLayout<emptcp_selector_step>.stride
            for (i, step) in steps.enumerated() {
                raw[i * stride + MemoryLayout<emptcp_selector_step>.offset(of: \.slot)!] = step.slot
                raw[i * stride + MemoryLayout<emptcp_selector_step>.offset(of: \.op)!] = step.op
            }
        }
        return withUnsafeBytes(of: chain) { Array($0) }
    }

    static func actionChainValue(_ actors: [ActorCall], hook: Hook, chain: String, modules: ModuleSlots) throws -> Bytes {
        guard !actors.isEmpty, actors.count <= Int(EMPTCP_MAX_ACTORS) else {
            throw ApplyError.tooLong(what: "chain \(chain)", count: actors.count, limit: Int(EMPTCP_MAX_ACTORS))
        }
        var value = emptcp_action_chain()
        value.len = UInt8(actors.count)
        try withUnsafeMutableBytes(of: &value.actors) { raw in
            let stride = MemoryLayout<emptcp_actor_call>.stride
            let paramOffset = MemoryLayout<emptcp_actor_call>.offset(of: \.param)!
            for (i, actor) in actors.enumerated() {
                let slot: UInt8
                if let builtin = actorSlot(actor) {
                    guard actor.builtinHooks?.contains(hook) ?? false else {
                        throw ApplyError.unknownActor(hook: hook.rawValue, name: actor.name)
                    }
                    slot = builtin
                } else if let module = modules.actors[hook]?[actor.name] {
                    slot = module
                } else {
                    throw ApplyError.unknownActor(hook: hook.rawValue, name: actor.name)
                }
                raw[i * stride] = slot
                let param = parameterBlock(actor)
                for (j, byte) in param.enumerated() { raw[i * stride + paramOffset + j] = byte }
            }
        }
        return withUnsafeBytes(of: value) { Array($0) }
    }

    /// The actor's 8-byte parameter block (emptcp_param_* overlaid on emptcp_actor_call.param).
    static func parameterBlock(_ actor: ActorCall) -> Bytes {
        var block = Bytes(repeating: 0, count: 8)
        switch actor {
        case .setRecvWin(let window):
            let p = emptcp_param_recv_win(window: window)
            withUnsafeBytes(of: p) { for (i, b) in $0.enumerated() { block[i] = b } }
        case .setFlowPrio(let backup, let addrId):
            let p = emptcp_param_flow_prio(backup: backup ? 1 : 0, has_addr_id: addrId == nil ? 0 : 1, addr_id: addrId ?? 0)
            withUnsafeBytes(of: p) { for (i, b) in $0.enumerated() { block[i] = b } }
        case .record(let packets, let flow, let rtt):
            var flags: UInt32 = 0
            if packets { flags |= UInt32(EMPTCP_RECORD_PKT) }
            if flow { flags |= UInt32(EMPTCP_RECORD_FLOW) }
            if rtt { flags |= UInt32(EMPTCP_RECORD_RTT) }
            let p = emptcp_param_record(flags: UInt8(flags))
            withUnsafeBytes(of: p) { for (i, b) in $0.enumerated() { block[i] = b } }
        case .module(_, let param):
            block = withUnsafeBytes(of: param) { Array($0) }
        case .rmAddAddr, .recoverAddAddr, .catchMptcpEvents:
            break
        }
        return block
    }

    static func addressPair(_ row: BindingRow) throws -> (family: UInt8, local: InlineAddress, remote: InlineAddress) {
        guard let local = row.local, let remote = row.remote else {
            throw ApplyError.invalidBinding(binding: row.key.description, reason: "needs local and remote addresses")
        }
        guard local.isIPv4 == remote.isIPv4 else {
            throw ApplyError.invalidBinding(binding: row.key.description, reason: "local and remote address families differ")
        }
        return (UInt8(local.isIPv4 ? EMPTCP_AF_INET : EMPTCP_AF_INET6), local, remote)
    }

    static func tcp2Key(_ binding: Binding) throws -> MapKey { try tcp2Key(BindingRow(binding)) }
    static func tcp4Key(_ binding: Binding) throws -> MapKey { try tcp4Key(BindingRow(binding)) }

    /// The neutral `emptcp_tcp2_key` of a tcp2 binding.
    static func tcp2Key(_ row: BindingRow) throws -> MapKey {
        let (family, local, remote) = try addressPair(row)
        var key = emptcp_tcp2_key()
        key.family = family
        local.withUnsafeBytes { src in withUnsafeMutableBytes(of: &key.local) { $0.copyMemory(from: src) } }
        remote.withUnsafeBytes { src in withUnsafeMutableBytes(of: &key.remote) { $0.copyMemory(from: src) } }
        return withUnsafeBytes(of: key) { MapKey(raw: $0) }
    }

    /// The neutral `emptcp_tcp4_key` of a tcp4 binding (ports in network order).
    static func tcp4Key(_ row: BindingRow) throws -> MapKey {
        let (family, local, remote) = try addressPair(row)
        guard let localPort = row.localPort, let remotePort = row.remotePort else {
            throw ApplyError.invalidBinding(binding: row.key.description, reason: "needs local and remote ports")
        }
        var key = emptcp_tcp4_key()
        key.family = family
        key.local_port = localPort.bigEndian
        key.remote_port = remotePort.bigEndian
        local.withUnsafeBytes { src in withUnsafeMutableBytes(of: &key.local) { $0.copyMemory(from: src) } }
        remote.withUnsafeBytes { src in withUnsafeMutableBytes(of: &key.remote) { $0.copyMemory(from: src) } }
        return withUnsafeBytes(of: key) { MapKey(raw: $0) }
    }
}
