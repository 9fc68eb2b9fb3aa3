import EmptcpStore

extension PolicyDiff {
    /// The text form of `emptcp diff`: one line per change, `+` added, `-` removed, `~` changed.
    var text: String {
        let d = self
        if d.isEmpty { return "no differences" }
        var lines: [String] = []
        func steps(_ s: [SelectorStep]) -> String { "[" + s.map { "\($0.name): \($0.op.rawValue)" }.joined(separator: ", ") + "]" }
        func actors(_ a: [ActorCall]?) -> String { (a ?? []).map(\.name).joined(separator: " → ") }
        for s in d.selectors { lines.append("~ selectors \(s.hook.rawValue): \(steps(s.from)) => \(steps(s.to))") }
        for c in d.chainsAdded { lines.append("+ chain \(c.name): \(actors(c.to))") }
        for c in d.chainsRemoved { lines.append("- chain \(c.name): \(actors(c.from))") }
        for c in d.chainsChanged { lines.append("~ chain \(c.name): \(describe(c.from)) => \(describe(c.to))") }
        for b in d.bindingsAdded { lines.append("+ binding \(b.key) -> \(b.chain)") }
        for b in d.bindingsRemoved { lines.append("- binding \(b.key) -> \(b.chain)") }
        for c in d.bindingsChanged { lines.append("~ binding \(c.to.key) -> \(c.from.chain) => \(c.to.chain)") }
        return lines.joined(separator: "\n")
    }

    /// Actors with their parameters, for chain changes where only a parameter may differ.
    private func describe(_ actors: [ActorCall]?) -> String {
        let policy = Policy(chains: ["x": actors ?? []])
        // Reuse the file renderer's spelling of parameters: the lines after "chains:\n  x:\n".
        let rendered = PolicyFile.render(policy).split(separator: "\n").filter { $0.hasPrefix("    - ") }
        return "[" + rendered.map { $0.dropFirst(6) }.joined(separator: ", ") + "]"
    }
}
