import Foundation
import Yams

/// Reads and writes policy files (format: docs/store.md, "Policy file"). YAML goes through Yams' Node API so every value
/// keeps its line; JSON is read by the same parser (a JSON document is YAML flow syntax), which
/// gives JSON files line numbers too. Syntax and shape errors are thrown here; cross-references
/// and limits are `PolicyValidator`'s job.
public enum PolicyFile {
    /// Parses a policy; `file` names the source in errors. Valid files take the fast path
    /// (`PolicyEventReader`: libyaml events, no node tree); whatever it does not take, and every
    /// error, goes through the node tree, which names lines. The map of a fast parse finds its
    /// lines by parsing again when validation needs them.
    public static func parse(_ text: String, file: String) throws -> (Policy, SourceMap) {
        // Before any parser: Yams recurses once per level and would overflow the stack on deep input.
        try PolicyNesting.check(text, file: file)
        var text = text
        if let policy = text.withUTF8({ PolicyEventReader.read($0) }) {
            var map = SourceMap(file: file)
            map.recover = { [text] in try? parseTree(text, file: file).1 }
            return (policy, map)
        }
        return try parseTree(text, file: file)
    }

    /// The node-tree parse: Yams composes the document, `NodeReader` walks it recording lines.
    static func parseTree(_ text: String, file: String) throws -> (Policy, SourceMap) {
        var map = SourceMap(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        }
        guard let root else { return (Policy(), map) }  // an empty file is the empty policy
        try checkTags(root, map: map)
        var reader = NodeReader(map: map)
        let policy = try reader.policy(root)
        map = reader.map
        return (policy, map)
    }

    /// Reads `path` and parses it.
    public static func load(path: String) throws -> (Policy, SourceMap) {
        try load(path: PolicyPath(path))
    }

    /// Reads `path` (at most `maxFileBytes`; regular files only) and parses it.
    public static func load(path: PolicyPath) throws -> (Policy, SourceMap) {
        try parse(try text(path), file: path.description)
    }

    /// The file's text: a regular file of at most `maxFileBytes`, UTF-8. The bytes are dropped
    /// once decoded: a large policy is not held twice while it is parsed.
    static func text(_ path: PolicyPath) throws -> String {
        let data = try PolicyFileReader.read(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw StoreError.validation(file: path.description, line: nil, key: "file", message: "not UTF-8 text")
        }
        return text
    }

    /// Largest policy file `load` accepts (see `PolicyFileReader.maxBytes` for the derivation).
    public static var maxFileBytes: Int { PolicyFileReader.maxBytes }

    /// Every node's tag must be one the format knows: a tag from elsewhere
    /// (`!!python/object:…`, `!local`) is an error naming its line, not silently ignored; and a
    /// collection's tag must fit its kind. Iterative: the depth is bounded already, but a wide
    /// tree should not cost stack either.
    static func checkTags(_ root: Node, map: SourceMap) throws {
        var pending = [root]
        while let node = pending.popLast() {
            let name: String
            let fits: Bool
            switch node {
            case let .mapping(m):
                name = node.tag.description
                fits = name == Tag.Name.map.rawValue
                for (k, v) in m { pending.append(k); pending.append(v) }
            case let .sequence(s):
                name = node.tag.description
                fits = name == Tag.Name.seq.rawValue
                pending.append(contentsOf: s)
            case let .scalar(s):
                // The tag as written: a plain or `!` scalar always resolves to a scalar type, so
                // only an explicit tag can be foreign. (`node.tag` would resolve it, and with the
                // basic resolver the parser is given, resolve every plain scalar to a string.)
                name = s.tag.description
                fits = name == Tag.Name.implicit.rawValue || name == Tag.Name.nonSpecific.rawValue || NodeReader.scalarTags.contains(name)
            }
            guard fits else {
                let known = NodeReader.scalarTags.contains(name) || name == Tag.Name.map.rawValue || name == Tag.Name.seq.rawValue
                let shown = NodeReader.shortTag(name)
                throw map.error("tag", known ? "tag \(shown) does not fit this node" : "unknown tag \(shown)", line: node.mark?.line)
            }
        }
    }

    /// Decodes an action chain stored as canonical JSON (the `chain.actors` column).
    static func storedActors(_ json: String) throws -> [ActorCall] {
        guard let node = try Yams.compose(yaml: json, .basic) else { return [] }
        let reader = NodeReader(map: SourceMap(file: "stored chain"))
        return try reader.items(node, key: "actors", allowEmpty: true).enumerated().map { try reader.actor($1, key: "actors[\($0)]") }
    }

    /// Decodes a selector chain stored as canonical JSON (the `selector_chain.steps` column).
    static func storedSteps(_ json: String, hook: Hook) throws -> [SelectorStep] {
        var reader = NodeReader(map: SourceMap(file: "stored selectors"))
        let node = try Yams.compose(yaml: "{\(hook.rawValue): \(json)}", .basic)!
        return try reader.selectors(node)[hook] ?? []
    }

    static func yamlError(_ error: YamlError, file: String) -> StoreError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let why = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .validation(file: file, line: mark.line, key: "syntax", message: why)
        case let .reader(problem, _, _, _):
            return .validation(file: file, line: nil, key: "syntax", message: problem)
        default:
            return .validation(file: file, line: nil, key: "syntax", message: "\(error)".replacingOccurrences(of: "\n", with: " "))
        }
    }
}

/// Walks the node tree, recording lines into `map` and throwing one-line errors. Types are what
/// YAML says they are: a quoted scalar is a string (`window: "5"` is refused), an explicit tag
/// decides (`window: !!str 5` is refused), a plain scalar is what its text resolves to.
struct NodeReader {
    var map: SourceMap

    /// Tags a scalar may carry (explicitly, or by YAML's resolution of plain text).
    static let scalarTags: Set<String> = Set(
        [Tag.Name.str, .int, .bool, .null, .float, .timestamp, .binary, .merge, .value].map(\.rawValue))

    /// `tag:yaml.org,2002:int` as `!!int`.
    static func shortTag(_ name: String) -> String {
        let prefix = "tag:yaml.org,2002:"
        return name.hasPrefix(prefix) ? "!!" + name.dropFirst(prefix.count) : name
    }

    /// A scalar's YAML type: its explicit tag; else a string when quoted; else the type its plain
    /// text resolves to. Yams resolves quoted text like plain text, so the style is checked here.
    static func scalarType(_ node: Node) -> String? {
        guard case let .scalar(s) = node else { return nil }
        let explicit = s.tag.description
        if explicit == Tag.Name.implicit.rawValue {
            guard s.style == .plain else { return Tag.Name.str.rawValue }
            return PlainScalar.type(s.string) ?? Resolver.default.resolveTag(of: node).rawValue
        }
        if explicit == Tag.Name.nonSpecific.rawValue { return Tag.Name.str.rawValue }
        return explicit
    }

    /// The text of a string scalar, nil for anything else.
    func string(_ node: Node) -> String? {
        Self.scalarType(node) == Tag.Name.str.rawValue ? node.scalar?.string : nil
    }

    /// What a node is, for messages: `an integer`, `a mapping`…
    func described(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar:
            switch Self.scalarType(node) {
            case Tag.Name.str.rawValue?: return "a string"
            case Tag.Name.int.rawValue?: return "an integer"
            case Tag.Name.bool.rawValue?: return "a boolean"
            case Tag.Name.null.rawValue?: return "null"
            case let t?: return Self.shortTag(t)
            case nil: return "a scalar"
            }
        }
    }

    mutating func policy(_ root: Node) throws -> Policy {
        let top = try pairs(root, key: "policy", allowed: ["schema", "selectors", "chains", "bindings"])
        var p = Policy()
        for (key, value) in top {
            switch key {
            // `show --json` writes the JSON schema version (docs/json.md); the file format is that version.
            case "schema":
                guard value.scalar?.string == String(OutputSchema.version) else {
                    throw map.error("schema", "unsupported schema \(value.scalar?.string ?? "(not a scalar)") (this emptcp reads \(OutputSchema.version))", line: line(value))
                }
            case "selectors": p.selectors = try selectors(value)
            case "chains": p.chains = try chains(value)
            default: p.bindings = try bindings(value)
            }
        }
        return p
    }

    // MARK: sections

    mutating func selectors(_ node: Node) throws -> [Hook: [SelectorStep]] {
        var out: [Hook: [SelectorStep]] = [:]
        for (name, value) in try pairs(node, key: "selectors", allowed: Hook.allCases.map(\.rawValue)) {
            let hook = Hook(rawValue: name)!
            let key = "selectors.\(name)"
            record(key, value)
            var steps: [SelectorStep] = []
            for (i, item) in try items(value, key: key, allowEmpty: true).enumerated() {
                let stepKey = "\(key)[\(i)]"
                record(stepKey, item)
                let (selName, opNode) = try single(item, key: stepKey, what: "a selector as {NAME: or|and}")
                guard let opText = string(opNode), let op = SelectorOp(rawValue: opText) else {
                    throw map.error("\(stepKey).\(selName)", "operator must be or or and", line: line(opNode))
                }
                steps.append(SelectorStep(name: selName, op: op))
            }
            out[hook] = steps
        }
        return out
    }

    mutating func chains(_ node: Node) throws -> [String: [ActorCall]] {
        var out: [String: [ActorCall]] = [:]
        for (name, value) in try pairs(node, key: "chains", allowed: nil) {
            let key = "chains.\(name)"
            record(key, value)
            var actors: [ActorCall] = []
            for (i, item) in try items(value, key: key, allowEmpty: true).enumerated() {
                let actorKey = "\(key)[\(i)]"
                record(actorKey, item)
                actors.append(try actor(item, key: actorKey))
            }
            out[name] = actors
        }
        return out
    }

    mutating func bindings(_ node: Node) throws -> [Binding] {
        let list = try items(node, key: "bindings", allowEmpty: true)
        var out: [Binding] = []
        out.reserveCapacity(list.count)
        map.bindingLines.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            map.bindingLines.append(line(item) ?? 0)
            out.append(try binding(item, key: "bindings[\(i)]"))
        }
        return out
    }

    // MARK: entries

    /// `- set_recv_win: {window: 1600}`, `- rm_add_addr: {}` or a bare `- rm_add_addr`.
    func actor(_ node: Node, key: String) throws -> ActorCall {
        let name: String
        let paramsNode: Node?
        if node.scalar != nil {
            guard let s = string(node) else { throw map.error(key, "an actor name must be a string, not \(described(node))", line: line(node)) }
            name = s
            paramsNode = nil
        } else {
            (name, paramsNode) = try single(node, key: key, what: "an actor as {NAME: {PARAMS}}")
        }
        let actorKey = "\(key).\(name)"
        let expected: [String]
        switch name {
        case "set_recv_win": expected = ["window"]
        case "set_flow_prio": expected = ["backup", "addr_id"]
        case "record": expected = ["pkt", "flow", "rtt"]
        case "rm_add_addr", "recover_add_addr", "catch_mptcp_events": expected = []
        default: expected = ["param"]  // an operator module; PolicyValidator checks it exists
        }
        var params: [String: Node] = [:]
        let builtin = ActorCall.builtinNames.contains(name)
        if !builtin, let paramsNode, let mapping = paramsNode.mapping, mapping.contains(where: { string($0.key) != "param" }) {
            // Most likely a misspelt built-in: say so rather than "unknown key".
            throw map.error(actorKey, "unknown actor (built-in: \(ActorCall.builtinNames.joined(separator: ", ")); an actor module takes {param: N})", line: line(node))
        }
        if let paramsNode, !isNull(paramsNode) {
            for (k, v) in try pairs(paramsNode, key: actorKey, allowed: expected) { params[k] = v }
        }
        switch name {
        case "set_recv_win":
            guard let w = params["window"] else { throw map.error("\(actorKey).window", "required", line: line(node)) }
            return .setRecvWin(window: UInt16(try integer(w, key: "\(actorKey).window", max: 65535)))
        case "set_flow_prio":
            guard let b = params["backup"] else { throw map.error("\(actorKey).backup", "required", line: line(node)) }
            let backup = try boolean(b, key: "\(actorKey).backup")
            let addrId = try params["addr_id"].map { UInt8(try integer($0, key: "\(actorKey).addr_id", max: 255)) }
            return .setFlowPrio(backup: backup, addrId: addrId)
        case "record":
            // Omitted flags default to on: `record: {}` records everything.
            return .record(
                packets: try params["pkt"].map { try boolean($0, key: "\(actorKey).pkt") } ?? true,
                flow: try params["flow"].map { try boolean($0, key: "\(actorKey).flow") } ?? true,
                rtt: try params["rtt"].map { try boolean($0, key: "\(actorKey).rtt") } ?? true)
        case "rm_add_addr": return .rmAddAddr
        case "recover_add_addr": return .recoverAddAddr
        case "catch_mptcp_events": return .catchMptcpEvents
        default:
            let param = try params["param"].map { try integer($0, key: "\(actorKey).param", max: UInt64.max) } ?? 0
            return .module(name: name, param: param)
        }
    }

    static let keyFields = ["hook", "selector", "local", "local_port", "remote", "remote_port"]

    func binding(_ node: Node, key: String) throws -> Binding {
        var v: [String: Node] = [:]
        for (k, value) in try pairs(node, key: key, allowed: Self.keyFields + ["chain"]) { v[k] = value }
        let (bindingKey, chain) = try fields(v, node, key: key, chain: true)
        return Binding(bindingKey, chain: chain!)
    }

    /// A binding's key alone (a patch's `remove` entries): the key fields, no chain.
    func bindingKey(_ node: Node, key: String) throws -> BindingKey {
        var v: [String: Node] = [:]
        for (k, value) in try pairs(node, key: key, allowed: Self.keyFields) { v[k] = value }
        return try fields(v, node, key: key, chain: false).0
    }

    /// A required non-empty string field of a binding mapping.
    private func required(_ v: [String: Node], _ f: String, in node: Node, key: String) throws -> (String, Node) {
        guard let n = v[f] else { throw map.error("\(key).\(f)", "required", line: line(node)) }
        guard let s = string(n), !s.isEmpty else { throw map.error("\(key).\(f)", "must be a non-empty string, not \(described(n))", line: line(n)) }
        return (s, n)
    }

    /// The key fields and, when `chain`, the chain name; checked in the order the fields print.
    private func fields(_ v: [String: Node], _ node: Node, key: String, chain: Bool) throws -> (BindingKey, String?) {
        let (hookText, hookNode) = try required(v, "hook", in: node, key: key)
        guard let hook = Hook(rawValue: hookText) else {
            throw map.error("\(key).hook", "unknown hook \(hookText) (expected xdp or tc)", line: line(hookNode))
        }
        let (selText, selNode) = try required(v, "selector", in: node, key: key)
        guard let selector = SelectorKind(rawValue: selText) else {
            throw map.error("\(key).selector", "unknown selector \(selText) (bindings take tcp, tcp2 or tcp4)", line: line(selNode))
        }
        let chainName = chain ? try required(v, "chain", in: node, key: key).0 : nil
        func address(_ f: String) throws -> IPAddress? {
            guard let n = v[f] else { return nil }
            guard let s = string(n), let a = IPAddress(s) else {
                throw map.error("\(key).\(f)", "not an IPv4 or IPv6 address: \(string(n) ?? described(n))", line: line(n))
            }
            return a
        }
        func port(_ f: String) throws -> UInt16? {
            guard let n = v[f] else { return nil }
            let p = try integer(n, key: "\(key).\(f)", max: 65535)
            guard p >= 1 else { throw map.error("\(key).\(f)", "port must be 1…65535", line: line(n)) }
            return UInt16(p)
        }
        let bindingKey = BindingKey(
            hook: hook, selector: selector, local: try address("local"), localPort: try port("local_port"),
            remote: try address("remote"), remotePort: try port("remote_port"))
        return (bindingKey, chainName)
    }

    // MARK: node helpers

    mutating func record(_ key: String, _ node: Node) { if let l = line(node) { map.lines[key] = l } }

    func line(_ node: Node) -> Int? { node.mark?.line }

    func isNull(_ node: Node) -> Bool { Self.scalarType(node) == Tag.Name.null.rawValue }

    /// A mapping's entries with scalar keys, rejecting duplicates and (if `allowed` is given) unknown keys.
    func pairs(_ node: Node, key: String, allowed: [String]?) throws -> [(String, Node)] {
        guard let mapping = node.mapping else {
            if isNull(node) { return [] }
            throw map.error(key, "must be a mapping", line: line(node))
        }
        var seen = Set<String>()
        var out: [(String, Node)] = []
        for (k, v) in mapping {
            guard let name = string(k) else { throw map.error(key, "keys must be names (strings), not \(described(k))", line: line(k)) }
            // A document's top-level keys print alone (`bindings`, not `policy.bindings`).
            let path = key == "policy" || key == "patch" ? name : "\(key).\(name)"
            if let allowed, !allowed.contains(name) {
                let hint = allowed.isEmpty ? "takes no parameters" : "expected one of \(allowed.joined(separator: ", "))"
                throw map.error(path, "unknown key (\(hint))", line: line(k))
            }
            guard seen.insert(name).inserted else { throw map.error(path, "duplicate key", line: line(k)) }
            out.append((name, v))
        }
        return out
    }

    func items(_ node: Node, key: String, allowEmpty: Bool) throws -> [Node] {
        if let seq = node.sequence { return Array(seq) }
        if isNull(node) { return [] }
        throw map.error(key, "must be a list", line: line(node))
    }

    /// A one-entry mapping such as `{tcp4: or}`.
    func single(_ node: Node, key: String, what: String) throws -> (String, Node) {
        guard let mapping = node.mapping, mapping.count == 1, let (k, v) = mapping.first.map({ ($0.key, $0.value) }),
              let name = string(k), !name.isEmpty
        else { throw map.error(key, "expected \(what)", line: line(node)) }
        return (name, v)
    }

    func integer(_ node: Node, key: String, max: UInt64) throws -> UInt64 {
        guard Self.scalarType(node) == Tag.Name.int.rawValue, let text = node.scalar?.string else {
            throw map.error(key, "must be an integer 0…\(max), not \(described(node))", line: line(node))
        }
        let value: UInt64? = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        guard let value else { throw map.error(key, "must be an integer 0…\(max), not \(text)", line: line(node)) }
        guard value <= max else { throw map.error(key, "out of range 0…\(max): \(text)", line: line(node)) }
        return value
    }

    func boolean(_ node: Node, key: String) throws -> Bool {
        guard Self.scalarType(node) == Tag.Name.bool.rawValue else {
            throw map.error(key, "must be true or false, not \(described(node))", line: line(node))
        }
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default: throw map.error(key, "must be true or false", line: line(node))
        }
    }
}
