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
        for b in p.bindings { out += "  - " + yamlLine(bindingFields(b)) + "\n" }
        return out
    }

    /// A patch file (`PolicyPatch`) in the same style: the upserts, then the removed keys.
    public static func render(_ changes: BindingChanges) -> String {
        var out = ""
        if !changes.upsert.isEmpty {
            out += "upsert:\n"
            for b in changes.upsert { out += "  - " + yamlLine(bindingFields(b)) + "\n" }
        }
        if !changes.remove.isEmpty {
            out += "remove:\n"
            for k in changes.remove { out += "  - " + yamlLine(keyFields(k)) + "\n" }
        }
        return out
    }

    private static func yamlLine(_ fields: [(key: String, value: String, isString: Bool)]) -> String {
        "{" + fields.map { "\($0.key): \($0.isString ? yamlValue($0.value) : $0.value)" }.joined(separator: ", ") + "}"
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
        keyFields(b.key) + [("chain", b.chain, true)]
    }

    private static func keyFields(_ k: BindingKey) -> [(key: String, value: String, isString: Bool)] {
        var f: [(key: String, value: String, isString: Bool)] = [("hook", k.hook.rawValue, true), ("selector", k.selector.rawValue, true)]
        if let v = k.local { f.append(("local", v.description, true)) }
        if let v = k.localPort { f.append(("local_port", "\(v)", false)) }
        if let v = k.remote { f.append(("remote", v.description, true)) }
        if let v = k.remotePort { f.append(("remote_port", "\(v)", false)) }
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
