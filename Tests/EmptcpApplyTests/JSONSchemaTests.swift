import Foundation
import Testing
@testable import EmptcpApply
@testable import EmptcpStore

/// The JSON contract (docs/json.md, docs/json-schema.json) held against the Codable types that
/// produce it. Each sample sets every optional field, so its encoding must carry exactly the
/// keys the schema lists: a key renamed, dropped or added without the schema changing fails
/// here. Every stored property must reach the JSON (a field left out of CodingKeys fails), and
/// every fixed key is snake_case. The CLI's own wrappers are checked by tests/contracts.
@Suite struct JSONSchemaTests {
    let schema: [String: Any] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try! Data(contentsOf: root.appendingPathComponent("docs/json-schema.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    /// The encoder settings of the CLI (Console.json) and the daemon.
    func encoded<T: Encodable>(_ value: T) throws -> Any {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try JSONSerialization.jsonObject(with: encoder.encode(value))
    }

    func resolve(_ node: [String: Any]) -> [String: Any] {
        guard let ref = node["$ref"] as? String else { return node }
        let parts = ref.dropFirst(2).split(separator: "/").map(String.init)  // "#/$defs/x" or "#/documents/x"
        return resolve((schema[parts[0]] as! [String: Any])[parts[1]] as! [String: Any])
    }

    /// Walks `value` along the schema node, recording every difference.
    func compare(_ value: Any, _ rawNode: [String: Any], at path: String, ignoring: Set<String> = [], into problems: inout [String]) {
        let node = resolve(rawNode)
        if let object = value as? [String: Any] {
            if let properties = node["properties"] as? [String: Any], let others = node["additionalProperties"] as? [String: Any] {
                // A map keyed by name (actors: built-in names, else a module's): each value by its key's schema.
                for (key, sub) in object { compare(sub, properties[key] as? [String: Any] ?? others, at: "\(path).\(key)", into: &problems) }
            } else if let properties = node["properties"] as? [String: Any] {
                let expected = Set(properties.keys).subtracting(ignoring)
                let actual = Set(object.keys)
                for key in actual.subtracting(expected).sorted() { problems.append("\(path).\(key): not in the schema") }
                for key in expected.subtracting(actual).sorted() { problems.append("\(path).\(key): in the schema, not in the output") }
                for key in actual where !key.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) {
                    problems.append("\(path).\(key): not snake_case")
                }
                for (key, sub) in object { if let p = properties[key] as? [String: Any] { compare(sub, p, at: "\(path).\(key)", into: &problems) } }
            } else if let values = node["additionalProperties"] as? [String: Any] {
                for (key, sub) in object { compare(sub, values, at: "\(path).\(key)", into: &problems) }
            } else {
                problems.append("\(path): an object where the schema has \(node)")
            }
        } else if let array = value as? [Any] {
            guard let items = node["items"] as? [String: Any] else { return problems.append("\(path): an array where the schema has none") }
            if array.isEmpty { problems.append("\(path): empty sample array checks nothing") }
            for (i, element) in array.enumerated() { compare(element, items, at: "\(path)[\(i)]", into: &problems) }
        }
    }

    /// Schema keys against the encoding of `value`, and every stored property of it present.
    func check<T: Encodable>(_ value: T, _ ref: String, ignoring: Set<String> = [], properties: Bool = true,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        try check(value, node: ["$ref": ref], ignoring: ignoring, properties: properties, sourceLocation: sourceLocation)
    }

    /// `properties: false` for a type coded flat from parts (Binding: its key's fields and chain).
    func check<T: Encodable>(_ value: T, node: [String: Any], ignoring: Set<String> = [], properties: Bool = true,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let json = try encoded(value)
        var problems: [String] = []
        compare(json, node, at: "\(T.self)", ignoring: ignoring, into: &problems)
        let keys = Set((json as? [String: Any] ?? [:]).keys)
        for child in Mirror(reflecting: value).children where properties {
            guard let label = child.label, !keys.contains(Self.snakeCase(label)) else { continue }
            problems.append("\(T.self).\(label): a stored property missing from the JSON (CodingKeys?)")
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// programID -> program_id, rttLastUs -> rtt_last_us, ts_ns -> ts_ns.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousUpper = false
        for c in name {
            if c.isUppercase {
                if !out.isEmpty && !previousUpper { out += "_" }
                out += c.lowercased()
                previousUpper = true
            } else {
                out.append(c)
                previousUpper = false
            }
        }
        return out
    }

    static let flow = EventFlow(source: IPAddress("10.0.1.2")!, sourcePort: 5201, destination: IPAddress("10.0.1.1")!, destinationPort: 40000)
    static let binding = Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.1.1"), localPort: 5201,
                                            remote: IPAddress("10.0.1.2"), remotePort: 40000), chain: "slow")
    static let actors: [ActorCall] = [
        .setRecvWin(window: 1600), .setFlowPrio(backup: true, addrId: 3), .rmAddAddr, .recoverAddAddr,
        .record(packets: true, flow: false, rtt: true), .catchMptcpEvents, .module(name: "geo_tag", param: 7),
    ]

    @Test func storeRecords() throws {
        try check(Revision(id: 2, parent: 1, createdAt: Date(timeIntervalSince1970: 0), uid: 0, user: "root", host: "vm", message: "m",
                           contentHash: "ab", action: "rollback", rollbackTo: 1, bindingCount: 3), "#/$defs/revision")
        try check(AuditEntry(id: 1, time: Date(), uid: 0, user: "root", host: "vm", action: "commit", revision: 1, outcome: .ok, detail: "d"),
                  "#/$defs/audit_entry")
        try check(Self.binding, "#/$defs/binding", properties: false)
        try check(Self.binding.key, "#/$defs/binding", ignoring: ["chain"])
    }

    @Test func policyDiffUsesThePolicyFileNames() throws {
        var diff = PolicyDiff()
        diff.selectors = [.init(hook: .xdp, from: [SelectorStep(name: "tcp2", op: .or)], to: [SelectorStep(name: "tcp4", op: .and)])]
        diff.chainsAdded = [.init(name: "new", from: nil, to: Self.actors)]
        diff.chainsRemoved = [.init(name: "old", from: Self.actors, to: nil)]
        diff.chainsChanged = [.init(name: "slow", from: Self.actors, to: Self.actors)]
        diff.bindingsAdded = [Self.binding]
        diff.bindingsRemoved = [Self.binding]
        diff.bindingsChanged = [.init(from: Self.binding, to: Self.binding)]
        // chain_change's from/to are each absent on one side: checked on the changed chain.
        var problems: [String] = []
        let json = try encoded(diff) as! [String: Any]
        compare(json, ["$ref": "#/$defs/policy_diff"], at: "diff", into: &problems)
        #expect(problems.allSatisfy { $0.hasSuffix("in the schema, not in the output") && ($0.contains("chains_added") || $0.contains("chains_removed")) },
                "\(problems)")
        // The policy file's spelling, not Swift's: {"set_recv_win": {"window": 1600}}, {"tcp2": "or"}.
        let changed = (json["chains_changed"] as! [[String: Any]])[0]["to"] as! [[String: [String: Any]]]
        #expect(changed.map { $0.keys.first! } == Self.actors.map(\.name))
        #expect(changed[1]["set_flow_prio"]!["addr_id"] as? Int == 3 && changed[4]["record"]!["pkt"] as? Bool == true)
        #expect(changed[6]["geo_tag"]!["param"] as? Int == 7)
        let steps = (json["selectors"] as! [[String: Any]])[0]["from"] as! [[String: String]]
        #expect(steps == [["tcp2": "or"]])
        // And it reads back.
        #expect(try JSONDecoder().decode([ActorCall].self, from: JSONEncoder().encode(Self.actors)) == Self.actors)
        #expect(try JSONDecoder().decode([SelectorStep].self, from: JSONEncoder().encode([SelectorStep(name: "tcp4", op: .and)])) == [SelectorStep(name: "tcp4", op: .and)])
    }

    @Test func kernelReports() throws {
        var status = DataPlaneStatus(
            pinRoot: "/sys/fs/bpf/emptcp", loaded: true,
            interfaces: [InterfaceStatus(name: "eth0", ifindex: 2, hooks: [HookStatus(hook: "xdp", mode: "generic", programID: 7)])],
            kernelRevision: 3, abiVersion: 1, maps: [MapStatus(map: "emptcp_x_tcp2", entries: 1)],
            counters: [CounterStatus(hook: "xdp", counter: "packets", value: 9)],
            drift: [DriftEntry(map: "emptcp_x_tcp2", key: "k", problem: .differs, expected: "a", actual: "b")])
        status.liveGeneration = 1
        status.standbyRevision = 2
        try check(status, "#/$defs/data_plane")
        var report = ApplyReport(revision: 3, previousRevision: 2, maps: [MapCounts(map: "emptcp_x_tcp2", added: 1, removed: 0, changed: 0)],
                                 encodeMicros: 1, readMicros: 2, writeMicros: 3)
        report.links = ["eth0/tc"]
        try check(report, "#/documents/apply", ignoring: ["schema"])
        let statusProperties = resolve(["$ref": "#/documents/status"])["properties"] as! [String: Any]
        try check(PendingConfirmation(revision: 4, previous: 3, deadline: Date()), node: statusProperties["pending_confirmation"] as! [String: Any])
        try check(PinOwner(store: "ab", database: "/var/lib/emptcp/emptcp.db"), node: statusProperties["owner"] as! [String: Any])
        let plan = PlannedChanges(against: "kernel", note: "n", maps: [MapCounts(map: "emptcp_x_tcp2", added: 1, removed: 0, changed: 0)])
        let checkProperties = resolve(["$ref": "#/documents/check"])["properties"] as! [String: Any]
        try check(plan, node: checkProperties["plan"] as! [String: Any])
    }

    @Test func flowsModulesEventsAndDaemon() throws {
        try check(FlowStats(flow: Self.flow, packets: 1, bytes: 2, rttSamples: 3, rttLastUs: 4, rttMinUs: 5, rttAvgUs: 6, lastSeenNs: 7),
                  "#/$defs/flow_stats")
        try check(ModuleStatus(name: "geo_tag", hook: .xdp, kind: .actor, slot: 16, objectPath: "/m.o", addedAt: Date(), loaded: true, programID: 9),
                  "#/$defs/module_status")
        let state = FlowInjectionState(
            flow: Self.flow, ackState: AckState(seq: 1, ack: 2, window: 3, timestamps: .init(value: 4, echo: 5), dataAck: 6), ackSeenNs: 7,
            removed: [RemovedAddAddr(seq: 1, ack: 2, window: 3, dropped: true, option: [30, 8])], removedSeenNs: 8)
        try check(DaemonReply(ok: true, detail: "d", error: "e", flows: [state],
                              connections: [TrackedConnection(token: "0a0b0c0d", subflows: ["10.0.0.1:1-10.0.0.2:2"])],
                              bindings: [RuntimeBinding(hook: "tc", flow: "10.0.0.1:1-10.0.0.2:2", chain: "c", token: 7, controller: "k")]),
                  "#/documents/daemon_reply")
        var control = ControlLine.event("flow_metrics", token: 1, subflow: "10.0.0.1:1-10.0.0.2:2", backup: true)
        control.flows = [FlowStats(flow: Self.flow, packets: 1, bytes: 2, rttSamples: 1, rttLastUs: 3, rttMinUs: 2, rttAvgUs: 3, lastSeenNs: 4)]
        control.subflows = [SubflowMetrics(SubflowInfo(subflow: SubflowKey(parsing: "10.0.0.1:1-10.0.0.2:2")!, token: 1, flags: 0, localID: 0, remoteID: 1))]
        control.id = 1
        control.ok = true
        control.detail = "d"
        control.error = "e"
        try check(control, "#/documents/control_line")
        try check(ControlCommand(id: 1, verb: ControlCommand.bind, hook: "tc", flow: "10.0.0.1:1-10.0.0.2:2", chain: "c",
                                 subflow: "10.0.0.1:1-10.0.0.2:2", backup: true), "#/documents/control_command")
        try check(ControlHello(name: "n", metricsMs: 100), "#/documents/control_hello")

        var line = EventLine(.unknown(nil, reason: "r", length: 1))
        line.hook = "tc"; line.ifindex = 1; line.ts_ns = 2; line.src = "10.0.1.2"; line.sport = 3; line.dst = "10.0.1.1"; line.dport = 4
        line.tcp_flags = "S"; line.sender_key = "k"; line.sender_token = "t"; line.sender_idsn = "i"; line.receiver_key = "k"
        line.receiver_token = "t"; line.receiver_idsn = "i"; line.token = "t"; line.backup = true; line.seq = 1; line.ack = 2
        line.window = 3; line.dropped = false; line.addr_id = 4; line.option = "1e"; line.tsval = 5; line.tsecr = 6; line.data_ack = 7
        line.version = 1; line.event_type = 9
        try check(line, "#/documents/events")
        // One JSON line per event, schema first among equals: the key is there on every line.
        #expect(line.json.contains("\"schema\":1"))
    }
}
