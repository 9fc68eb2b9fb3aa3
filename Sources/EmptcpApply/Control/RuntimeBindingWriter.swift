import EmptcpStore

/// Writes a controller's runtime binding into the policy maps: the tcp4 entry (key → chain index)
/// and its prefilter bit in the live generation of the hook, and in the standby one too when its
/// marker says it holds the same content. A standby holding the previous revision (what an apply
/// that switched leaves) is not written: this revision's chain could replace another one there,
/// under a packet that began before the flip, and the next switch rewrites that generation from
/// its revision anyway. A key the committed policy binds is never written (a committed rule
/// always wins). Verified by reading the entries back.
///
/// An apply plans each generation from the revision alone and so removes runtime entries from
/// the generation it writes; the daemon installs them again when the apply hands over
/// (`repair`), dropping those whose chain the new revision no longer names.
struct RuntimeBindingWriter {
    let layout: PinLayout

    /// Why a binding cannot be made under `policy`, or nil.
    static func refusal(_ b: RuntimeBinding, key: BindingKey, policy: Policy?) -> String? {
        guard let policy else { return "no committed revision: runtime bindings use its chains" }
        guard policy.chains[b.chain] != nil else { return "chain \(b.chain) is not in the committed policy" }
        guard policy.selectors[key.hook]?.contains(where: { $0.name == SelectorKind.tcp4.rawValue }) == true else {
            return "the committed \(key.hook.rawValue) selector chain has no tcp4 selector, so a tcp4 binding would never be read"
        }
        if policy.bindings.contains(where: { $0.key == key }) {
            return "a committed binding holds \(key) (a committed rule always wins)"
        }
        return nil
    }

    /// The binding key of a flow written "local:port-remote:port" from our side.
    static func key(hook: String, flow: String) -> BindingKey? {
        guard let h = Hook(rawValue: hook), let s = SubflowKey(parsing: flow) else { return nil }
        return BindingKey(hook: h, selector: .tcp4, local: s.local, localPort: s.localPort, remote: s.remote, remotePort: s.remotePort)
    }

    /// The chain's index on the key's hook under `policy` (the one every apply of it writes).
    static func chainIndex(_ key: BindingKey, chain: String, policy: Policy) throws -> UInt32 {
        guard let index = try MapEncoder.chainIndexes(hook: key.hook, policy)[chain] else {
            throw ApplyError.unknownChain(binding: key.description, chain: chain)
        }
        return index
    }

    /// - Parameter policy: the committed policy; the applier writes only chains a committed
    ///   binding uses, so the chain entry is written too (where missing or different).
    func install(_ key: BindingKey, chain: String, policy: Policy?) throws {
        guard let policy else { throw ApplyError.unknownChain(binding: key.description, chain: chain) }
        let maps = try PolicyMaps(layout: layout, prefilter: true)
        let index = try Self.chainIndex(key, chain: chain, policy: policy)
        let chainValue = try MapEncoder.actionChainValue(policy.chains[chain] ?? [], hook: key.hook, chain: chain, modules: ModuleSlots())
        let chains = maps.maps[MapID(hook: key.hook, kind: .chains)]!
        let generations = try Self.generations(maps)
        for g in generations {
            let k = Generation.key(MapEncoder.chainKey(index), .chains, g)
            if try chains.lookup(k.bytes) != chainValue { try chains.update(k.bytes, chainValue) }
        }
        let neutral = try MapEncoder.tcp4Key(Binding(key, chain: chain))
        let value = MapEncoder.u32(index)
        let table = maps.maps[MapID(hook: key.hook, kind: .tcp4)]!
        for g in generations {
            let k = Generation.key(neutral, .tcp4, g)
            try table.update(k.bytes, value)
            if let prefilter = maps.prefilters[key.hook] {
                let bit = Prefilter.bit(k)
                let index = Generation.prefilterIndex(bit >> 6, g)
                let word = try prefilter.readInteger(at: index)
                let wanted = word | (1 << UInt64(bit & 63))
                if wanted != word { try prefilter.writeWords([(index, wanted)]) }
            }
        }
        guard try holds(key, index: index, in: maps) else {
            throw ApplyError.invalidBinding(binding: key.description, reason: "the kernel does not hold the runtime binding after writing it")
        }
    }

    /// The generations a runtime binding goes into: the live one, and the standby one when the
    /// two markers carry one digest (both hold the same content, written to the end).
    static func generations(_ maps: PolicyMaps) throws -> [UInt8] {
        let live = try maps.liveGeneration()
        let standby = Generation.other(live)
        let (held, ready) = (try maps.marker(of: live), try maps.marker(of: standby))
        return ready.digest != nil && ready.digest == held.digest ? [live, standby] : [live]
    }

    /// The chain's index under `policy`, nil without a policy or when it names no such chain.
    private static func knownIndex(_ key: BindingKey, chain: String, policy: Policy?) -> UInt32? {
        guard let policy, policy.chains[chain] != nil else { return nil }
        return try? chainIndex(key, chain: chain, policy: policy)
    }

    /// Removes the entries (both generations) if they still name `chain` (its index under
    /// `policy`; when that is unknown, whatever they name). Prefilter bits stay: a bit may be
    /// shared with another key, and a stale bit only costs one hash lookup.
    func remove(_ key: BindingKey, chain: String, policy: Policy?) throws {
        let maps = try PolicyMaps(layout: layout, prefilter: false)
        let neutral = try MapEncoder.tcp4Key(Binding(key, chain: chain))
        let value = Self.knownIndex(key, chain: chain, policy: policy).map(MapEncoder.u32)
        let table = maps.maps[MapID(hook: key.hook, kind: .tcp4)]!
        for g in UInt8(0)..<UInt8(Generation.count) {
            let k = Generation.key(neutral, .tcp4, g)
            guard let held = try table.lookup(k.bytes) else { continue }
            if value == nil || held == value { try? table.delete(k.bytes) }
        }
    }

    /// True when the generations it goes into (`generations`) map the key to the chain (its
    /// index under `policy`; when that is unknown, when either generation maps the key at all).
    func holds(_ key: BindingKey, chain: String, policy: Policy?) throws -> Bool {
        let maps = try PolicyMaps(layout: layout, prefilter: false)
        if let index = Self.knownIndex(key, chain: chain, policy: policy) { return try holds(key, index: index, in: maps) }
        let neutral = try MapEncoder.tcp4Key(Binding(key, chain: chain))
        let table = maps.maps[MapID(hook: key.hook, kind: .tcp4)]!
        for g in UInt8(0)..<UInt8(Generation.count) where try table.lookup(Generation.key(neutral, .tcp4, g).bytes) != nil {
            return true
        }
        return false
    }

    private func holds(_ key: BindingKey, index: UInt32, in maps: PolicyMaps) throws -> Bool {
        let neutral = try MapEncoder.tcp4Key(Binding(key, chain: ""))
        let value = MapEncoder.u32(index)
        let table = maps.maps[MapID(hook: key.hook, kind: .tcp4)]!
        for g in try Self.generations(maps) where try table.lookup(Generation.key(neutral, .tcp4, g).bytes) != value {
            return false
        }
        return true
    }
}

extension RuntimeBinding {
    /// The tcp4 binding whose map entries this runtime binding writes: `status` adds these to the
    /// revision's bindings, so the kernel is compared with what it should hold and runtime
    /// entries are not drift.
    public var mapBinding: Binding? {
        RuntimeBindingWriter.key(hook: hook, flow: flow).map { Binding($0, chain: chain) }
    }
}
