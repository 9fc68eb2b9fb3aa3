/// The content hash of a revision, computable in O(changes) for a commit that touches a few
/// bindings of many.
///
/// Bindings form a set, so their part of the hash is an order-free sum: each binding's canonical
/// line is hashed with SHA-256 and the four 64-bit lanes are added (wrapping) into `BindingSum`.
/// Adding or removing a binding adds or subtracts its digest; the sum of the current revision is
/// stored with it. The content hash is SHA-256 over the canonical selectors and chains plus that
/// sum and the binding count. Duplicate bindings are impossible (validation and a unique index),
/// so the sum never has to tell a doubled binding apart.
public struct BindingSum: Equatable, Sendable {
    var lanes: [UInt64] = [0, 0, 0, 0]

    init() {}

    init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count == 64 else { return nil }
        for i in 0..<4 {
            guard let v = UInt64(String(decoding: chars[i * 16..<(i + 1) * 16], as: UTF8.self), radix: 16) else { return nil }
            lanes[i] = v
        }
    }

    var hex: String {
        lanes.map { String(repeating: "0", count: 16 - String($0, radix: 16).count) + String($0, radix: 16) }.joined()
    }

    mutating func add(_ b: Binding) { combine(b, subtract: false) }
    mutating func remove(_ b: Binding) { combine(b, subtract: true) }

    private mutating func combine(_ b: Binding, subtract: Bool) {
        combine(line: ContentHash.line(b), subtract: subtract)
    }

    /// Adds (or subtracts) the digest of one binding's canonical line.
    mutating func combine(line: String, subtract: Bool) {
        combine(digest: SHA256.words(line), subtract: subtract)
    }

    /// The same for the line `key + " " + chain`, assembled on the stack: a commit hashes every
    /// binding, and the joined string was one allocation per binding.
    mutating func combine(key: String, chain: String, subtract: Bool) {
        var key = key, chain = chain
        let d = key.withUTF8 { k in
            chain.withUTF8 { c in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: k.count + 1 + c.count) { line in
                    _ = line.initialize(fromContentsOf: k)
                    line[k.count] = 0x20
                    _ = UnsafeMutableBufferPointer(rebasing: line[(k.count + 1)...]).initialize(fromContentsOf: c)
                    return SHA256.words(UnsafeRawBufferPointer(line))
                }
            }
        }
        combine(digest: d, subtract: subtract)
    }

    private mutating func combine(digest d: [UInt32], subtract: Bool) {
        for i in 0..<4 {
            let v = UInt64(d[2 * i]) << 32 | UInt64(d[2 * i + 1])
            lanes[i] = subtract ? lanes[i] &- v : lanes[i] &+ v
        }
    }
}

enum ContentHash {
    /// The canonical text of one binding: its storage key and its chain (`xdp tcp2 10.0.1.1 - 10.0.1.2 - slow`).
    static func line(_ b: Binding) -> String { b.key.storageKey + " " + b.chain }

    static func of(selectors: [Hook: [SelectorStep]], chains: [String: [ActorCall]], bindings: BindingSum, count: Int) -> String {
        var text = "emptcp-content-v1\n"
        for hook in selectors.keys.sorted() where !(selectors[hook] ?? []).isEmpty {
            text += "selectors \(hook.rawValue) \(PolicyCanonical.stepsJSON(selectors[hook] ?? []))\n"
        }
        for name in chains.keys.sorted() {
            text += "chain \(PolicyCanonical.jsonString(name)) \(PolicyCanonical.actorsJSON(chains[name] ?? []))\n"
        }
        text += "bindings \(count) \(bindings.hex)\n"
        return SHA256.hex(text)
    }

    static func of(_ p: Policy) -> (hash: String, sum: BindingSum) {
        of(p, keys: p.bindings.map { $0.key.storageKey })
    }

    /// `keys[i]` is `p.bindings[i].key.storageKey`, computed once by the caller.
    static func of(_ p: Policy, keys: [String]) -> (hash: String, sum: BindingSum) {
        var sum = BindingSum()
        for (b, key) in zip(p.bindings, keys) { sum.combine(key: key, chain: b.chain, subtract: false) }
        return (of(selectors: p.selectors, chains: p.chains, bindings: sum, count: p.bindings.count), sum)
    }
}
