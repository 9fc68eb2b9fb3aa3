/// Writes policies in the file format `PolicyFile.parse` reads, in canonical order (hooks and
/// chains by name, bindings by key), so `show` output committed again yields identical content.
extension PolicyFile {
    /// YAML in the flow-per-entry style of docs/store.md: one line per selector chain, actor and binding.
    public static func render(_ policy: Policy) -> String {
        let p = policy.canonical
        var out = ""
        if p.selectors.isEmpty {
            out += "selectors: {}\n"
        } else {
            out += "selectors:\n"
            for hook in p.selectors.keys.sorted() {
                let steps = p.selectors[hook]!.map { "{\(yamlName($0.name)): \($0.op.rawValue)}" }
                out += "  \(hook.rawValue): [\(steps.joined(separator: ", "))]\n"
            }
        }
        if p.chains.isEmpty {
            out += "chains: {}\n"
        } else {
            out += "chains:\n"
            for name in p.chains.keys.sorted() {
                let actors = p.chains[name]!
                if actors.isEmpty { out += "  \(yamlName(name)): []\n"; continue }
                out += "  \(yamlName(name)):\n"
                for a in actors {
                    let params = PolicyCanonical.parameters(a).map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                    out += "    - \(yamlName(a.name)): {\(params)}\n"
                }
            }
        }
        if p.bindings.isEmpty { return out + "bindings: []\n" }
        out += "bindings:\n"
        for b in p.bindings {
            out += "  - {" + bindingFields(b).map { "\($0.key): \($0.isString ? yamlValue($0.value) : $0.value)" }.joined(separator: ", ") + "}\n"
        }
        return out
    }

    /// The same content as JSON (accepted by `commit` as well).
    public static func renderJSON(_ policy: Policy) -> String {
        let p = policy.canonical
        let j = PolicyCanonical.jsonString
        let selectors = p.selectors.keys.sorted().map { "\(j($0.rawValue)): \(PolicyCanonical.stepsJSON(p.selectors[$0]!))" }
        let chains = p.chains.keys.sorted().map { "    \(j($0)): \(PolicyCanonical.actorsJSON(p.chains[$0]!))" }
        let bindings = p.bindings.map { b in
            "    {" + bindingFields(b).map { "\(j($0.key)): \($0.isString ? j($0.value) : $0.value)" }.joined(separator: ", ") + "}"
        }
        return """
            {
              "schema": \(OutputSchema.version),
              "selectors": {\(selectors.joined(separator: ", "))},
              "chains": {\(chains.isEmpty ? "" : "\n" + chains.joined(separator: ",\n") + "\n  ")},
              "bindings": [\(bindings.isEmpty ? "" : "\n" + bindings.joined(separator: ",\n") + "\n  ")]
            }

            """
    }

    private static func bindingFields(_ b: Binding) -> [(key: String, value: String, isString: Bool)] {
        var f: [(key: String, value: String, isString: Bool)] = [("hook", b.key.hook.rawValue, true), ("selector", b.key.selector.rawValue, true)]
        if let v = b.key.local { f.append(("local", v.description, true)) }
        if let v = b.key.localPort { f.append(("local_port", "\(v)", false)) }
        if let v = b.key.remote { f.append(("remote", v.description, true)) }
        if let v = b.key.remotePort { f.append(("remote_port", "\(v)", false)) }
        f.append(("chain", b.chain, true))
        return f
    }

    /// Plain when it cannot be misread (names, IPv4); double-quoted otherwise (IPv6 has colons).
    private static func yamlValue(_ s: String) -> String {
        let plain = !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d || c == 0x2e
        }
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]
        return plain && !reserved.contains(s.lowercased()) && s.first != "-" ? s : PolicyCanonical.jsonString(s)
    }

    private static func yamlName(_ s: String) -> String { yamlValue(s) }
}
