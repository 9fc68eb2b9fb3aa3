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
        var h = SHA256()
        h.update(ContentHash.line(b))
        let d = h.finalize()
        for i in 0..<4 {
            var v: UInt64 = 0
            for j in 0..<8 { v = v << 8 | UInt64(d[i * 8 + j]) }
            lanes[i] = subtract ? lanes[i] &- v : lanes[i] &+ v
        }
    }
}

enum ContentHash {
    /// The canonical text of one binding: its key and its chain.
    static func line(_ b: Binding) -> String { "\(b.key.description) -> \(b.chain)" }

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
        var sum = BindingSum()
        for b in p.bindings { sum.add(b) }
        return (of(selectors: p.selectors, chains: p.chains, bindings: sum, count: p.bindings.count), sum)
    }
}
