/// Checks what parsing cannot: cross-references, limits, flow keys per selector, duplicates and
/// where each actor and module exists. The first problem is thrown as one line naming the file,
/// line and key (`FILE:LINE: key: message`).
public enum PolicyValidator {
    /// Chain names and module names: short identifiers, so they print unquoted and fit the kernel's names.
    public static func isValidName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func letter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f }
        func rest(_ c: UInt8) -> Bool { letter(c) || (c >= 0x30 && c <= 0x39) || c == 0x2d }
        return (1...64).contains(u.count) && letter(u[0]) && u.allSatisfy(rest)
    }

    public static func validate(_ p: Policy, modules: [ModuleRecord], file: String?) throws {
        try validate(p, modules: modules, map: SourceMap(file: file))
    }

    public static func validate(_ p: Policy, modules: [ModuleRecord], map: SourceMap) throws {
        try validate(p, modules: modules, map: map, keys: nil)
    }

    /// `keys[i]`, when given, is `p.bindings[i].key.storageKey` (the store has it already);
    /// duplicates are then found by string, which is cheaper than hashing the key's parts.
    static func validate(_ p: Policy, modules: [ModuleRecord], map: SourceMap, keys: [String]?) throws {
        do {
            try check(p, modules: modules, map: map, keys: keys)
        } catch let error where map.recover != nil {
            // The fast parse kept no lines: find the same problem again with them.
            guard let exact = map.recover?() else { throw error }
            try check(p, modules: modules, map: exact, keys: keys)
            throw error
        }
    }

    private static func check(_ p: Policy, modules: [ModuleRecord], map: SourceMap, keys: [String]?) throws {
        let byName = Dictionary(modules.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Selector chains.
        for hook in p.selectors.keys.sorted() {
            let steps = p.selectors[hook]!
            let key = "selectors.\(hook.rawValue)"
            if steps.count > Policy.maxSelectorsPerHook {
                throw map.error(key, "\(steps.count) selectors, at most \(Policy.maxSelectorsPerHook) per hook")
            }
            var seen = Set<String>()
            for (i, step) in steps.enumerated() {
                let stepKey = "\(key)[\(i)]"
                guard seen.insert(step.name).inserted else {
                    throw map.error(stepKey, "selector \(step.name) appears twice in the \(hook.rawValue) chain", line: map.line(stepKey))
                }
                if step.builtin != nil { continue }
                guard let m = byName[step.name], m.kind == .selector else {
                    throw map.error(stepKey, "unknown selector \(step.name) (built-in: tcp, tcp2, tcp4; or a selector module)", line: map.line(stepKey))
                }
                guard m.hook == hook else {
                    throw map.error(stepKey, "selector module \(m.name) exists on \(m.hook.rawValue), not \(hook.rawValue)", line: map.line(stepKey))
                }
            }
        }
        // Action chains: names, lengths, known actors.
        for name in p.chains.keys.sorted() {
            let actors = p.chains[name]!
            let key = "chains.\(name)"
            guard isValidName(name) else { throw map.error(key, "chain names are letters, digits, _ and - (at most 64), starting with a letter or _") }
            guard !actors.isEmpty else { throw map.error(key, "a chain needs at least one actor") }
            guard actors.count <= Policy.maxActorsPerChain else {
                throw map.error(key, "\(actors.count) actors, at most \(Policy.maxActorsPerChain) per chain")
            }
            for (i, a) in actors.enumerated() {
                guard case .module(let mname, _) = a else { continue }
                let aKey = "\(key)[\(i)]"
                guard let m = byName[mname], m.kind == .actor else {
                    throw map.error("\(aKey).\(mname)", "unknown actor (built-in: \(ActorCall.builtinNames.joined(separator: ", ")); or an actor module)", line: map.line(aKey))
                }
            }
        }
        // Bindings.
        try checkCapacity(p, map: map)
        var seenKeys = Set<BindingKey>(), seenStrings = Set<String>()
        if keys == nil { seenKeys.reserveCapacity(p.bindings.count) } else { seenStrings.reserveCapacity(p.bindings.count) }
        // Chains already checked per hook (bit 0 xdp, bit 1 tc): checked once, not per binding.
        var checkedChains: [String: UInt8] = [:]
        var previous: Binding?
        for (i, b) in p.bindings.enumerated() {
            // The error key is built only on failure: this loop runs once per binding.
            func fail(_ field: String, _ message: String) -> StoreError {
                map.error("\(map.bindingsKey)[\(i)].\(field)", message, line: map.bindingLine(i))
            }
            try checkFlowKey(b, fail: fail)
            let fresh = keys.map { seenStrings.insert($0[i]).inserted } ?? seenKeys.insert(b.key).inserted
            // Bindings mostly repeat their neighbour's chain, hook and selector: the checks
            // below depend on nothing else, so a repeat has passed them already.
            if let prev = previous, prev.chain == b.chain, prev.key.hook == b.key.hook, prev.key.selector == b.key.selector {
                guard fresh else { throw fail("selector", "duplicate binding (\(b.key))") }
                continue
            }
            previous = b
            guard let actors = p.chains[b.chain] else { throw fail("chain", "no chain named \(b.chain)") }
            let steps = p.selectors[b.key.hook] ?? []
            guard steps.contains(where: { $0.name == b.key.selector.rawValue }) else {
                throw fail("selector", "\(b.key.selector.rawValue) is not in the \(b.key.hook.rawValue) selector chain (selectors.\(b.key.hook.rawValue))")
            }
            let bit: UInt8 = b.key.hook == .xdp ? 1 : 2
            if (checkedChains[b.chain] ?? 0) & bit == 0 {
                checkedChains[b.chain, default: 0] |= bit
                for a in actors {
                    let hooks: Set<Hook> = a.builtinHooks ?? byName[a.name].map { [$0.hook] } ?? []
                    guard hooks.contains(b.key.hook) else {
                        throw fail("chain", "chain \(b.chain) holds \(a.name), which does not exist on \(b.key.hook.rawValue)")
                    }
                }
            }
            guard fresh else { throw fail("selector", "duplicate binding (\(b.key))") }
        }
    }

    /// Each hook's tcp2 and tcp4 bindings go into one kernel hash map of fixed size: more than
    /// it holds would fail halfway through an apply, so it is refused here, before any write.
    static func checkCapacity(_ p: Policy, map: SourceMap) throws {
        guard p.bindings.count > Policy.maxBindingsPerMap else { return }
        var counts: [Hook: [SelectorKind: Int]] = [:]
        for b in p.bindings { counts[b.key.hook, default: [:]][b.key.selector, default: 0] += 1 }
        for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
            for selector in [SelectorKind.tcp2, .tcp4] {
                let n = counts[hook]?[selector] ?? 0
                if n > Policy.maxBindingsPerMap {
                    throw map.error("bindings", "\(n) \(selector.rawValue) bindings on \(hook.rawValue), the kernel map \(hook.kernelName(selector.rawValue)) holds at most \(Policy.maxBindingsPerMap)")
                }
            }
        }
    }

    /// tcp: no addresses or ports; tcp2: both addresses, no ports; tcp4: all four. One family.
    static func checkFlowKey(_ b: Binding, fail: (String, String) -> StoreError) throws {
        switch b.key.selector {
        case .tcp:
            for (f, present) in [("local", b.key.local != nil), ("remote", b.key.remote != nil), ("local_port", b.key.localPort != nil), ("remote_port", b.key.remotePort != nil)] where present {
                throw fail(f, "the tcp selector matches every TCP packet and takes no \(f)")
            }
        case .tcp2, .tcp4:
            guard b.key.local != nil else { throw fail("local", "required for \(b.key.selector.rawValue)") }
            guard b.key.remote != nil else { throw fail("remote", "required for \(b.key.selector.rawValue)") }
            if b.key.selector == .tcp2 {
                if b.key.localPort != nil { throw fail("local_port", "tcp2 keys on addresses only; use tcp4 for ports") }
                if b.key.remotePort != nil { throw fail("remote_port", "tcp2 keys on addresses only; use tcp4 for ports") }
            } else {
                guard b.key.localPort != nil else { throw fail("local_port", "required for tcp4") }
                guard b.key.remotePort != nil else { throw fail("remote_port", "required for tcp4") }
            }
            if b.key.local!.isIPv4 != b.key.remote!.isIPv4 { throw fail("remote", "local and remote must be the same address family") }
        }
    }
}
