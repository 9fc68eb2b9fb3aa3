import Foundation
import Testing
@testable import EmptcpStore

/// Every class of policy-file error: one line naming file, line and key.
@Suite struct ValidationTests {
    /// (what, file text, expected "FILE:LINE: key" prefix)
    static let cases: [(String, String, String)] = [
        ("syntax", "selectors: [", "test.yaml:2: syntax"),
        ("unknown top-level key", "selctors: {}\n", "test.yaml:1: selctors: unknown key"),
        ("duplicate key", "chains:\n  a: [rm_add_addr]\n  a: [rm_add_addr]\n", "test.yaml:3: chains.a: duplicate key"),
        ("unknown hook in selectors", "selectors:\n  egress: [{tcp2: or}]\n", "test.yaml:2: selectors.egress: unknown key"),
        ("bad selector operator", "selectors:\n  xdp: [{tcp2: xor}]\n", "test.yaml:2: selectors.xdp[0].tcp2: operator must be or or and"),
        ("unknown selector", "selectors:\n  xdp: [{tcp9: or}]\n", "test.yaml:2: selectors.xdp[0]: unknown selector tcp9"),
        ("selector twice", "selectors:\n  xdp: [{tcp2: or}, {tcp2: and}]\n", "test.yaml:2: selectors.xdp[1]: selector tcp2 appears twice"),
        ("too many selectors", "selectors:\n  xdp: [" + (0..<9).map { _ in "{tcp: or}" }.joined(separator: ", ") + "]\n",
         "test.yaml:2: selectors.xdp: 9 selectors, at most 8 per hook"),
        ("unknown actor", "chains:\n  c:\n    - set_rcv_win: {window: 1}\n", "test.yaml:3: chains.c[0].set_rcv_win: unknown actor"),
        ("unknown parameter", "chains:\n  c:\n    - set_recv_win: {windw: 1}\n", "test.yaml:3: chains.c[0].set_recv_win.windw: unknown key (expected one of window)"),
        ("parameter on a parameterless actor", "chains:\n  c:\n    - rm_add_addr: {x: 1}\n", "test.yaml:3: chains.c[0].rm_add_addr.x: unknown key (takes no parameters)"),
        ("missing parameter", "chains:\n  c:\n    - set_recv_win: {}\n", "test.yaml:3: chains.c[0].set_recv_win.window: required"),
        ("window out of range", "chains:\n  c:\n    - set_recv_win: {window: 65536}\n", "test.yaml:3: chains.c[0].set_recv_win.window: out of range 0…65535: 65536"),
        ("window not a number", "chains:\n  c:\n    - set_recv_win: {window: big}\n", "test.yaml:3: chains.c[0].set_recv_win.window: must be an integer"),
        ("addr_id out of range", "chains:\n  c:\n    - set_flow_prio: {backup: true, addr_id: 256}\n", "test.yaml:3: chains.c[0].set_flow_prio.addr_id: out of range 0…255"),
        ("boolean", "chains:\n  c:\n    - set_flow_prio: {backup: maybe}\n", "test.yaml:3: chains.c[0].set_flow_prio.backup: must be true or false"),
        ("empty chain", "chains:\n  c: []\n", "test.yaml:2: chains.c: a chain needs at least one actor"),
        ("too many actors", "chains:\n  c:\n" + String(repeating: "    - rm_add_addr: {}\n", count: 9), "test.yaml:3: chains.c: 9 actors, at most 8 per chain"),
        ("bad chain name", "chains:\n  \"a b\": [rm_add_addr]\n", "test.yaml:2: chains.a b: chain names are"),
        ("unknown binding key", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c, prio: 1"), "test.yaml:7: bindings[0].prio: unknown key"),
        ("unknown hook", binding("hook: ingress, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].hook: unknown hook ingress"),
        ("unknown binding selector", binding("hook: xdp, selector: tcp3, local: 10.0.0.1, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].selector: unknown selector tcp3"),
        ("missing chain key", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2"), "test.yaml:7: bindings[0].chain: required"),
        ("bad IPv4", binding("hook: xdp, selector: tcp2, local: 10.0.0.256, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].local: not an IPv4 or IPv6 address: 10.0.0.256"),
        ("bad IPv6", binding("hook: xdp, selector: tcp2, local: \"fd00:::1\", remote: \"fd00::2\", chain: c"), "test.yaml:7: bindings[0].local: not an IPv4 or IPv6 address"),
        ("port out of range", binding("hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 70000, remote: 10.0.0.2, remote_port: 1, chain: c"), "test.yaml:7: bindings[0].local_port: out of range 0…65535"),
        ("port zero", binding("hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 0, remote: 10.0.0.2, remote_port: 1, chain: c"), "test.yaml:7: bindings[0].local_port: port must be 1…65535"),
        ("tcp takes no address", binding("hook: xdp, selector: tcp, local: 10.0.0.1, chain: c"), "test.yaml:7: bindings[0].local: the tcp selector matches every TCP packet"),
        ("tcp2 takes no port", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, local_port: 80, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].local_port: tcp2 keys on addresses only"),
        ("tcp2 needs remote", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, chain: c"), "test.yaml:7: bindings[0].remote: required for tcp2"),
        ("tcp4 needs ports", binding("hook: xdp, selector: tcp4, local: 10.0.0.1, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].local_port: required for tcp4"),
        ("mixed families", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, remote: \"fd00::2\", chain: c"), "test.yaml:7: bindings[0].remote: local and remote must be the same address family"),
        ("no such chain", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: nope"), "test.yaml:7: bindings[0].chain: no chain named nope"),
        ("selector not in the hook's chain", binding("hook: tc, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c"), "test.yaml:7: bindings[0].selector: tcp2 is not in the tc selector chain"),
        ("actor not on the hook", """
            selectors:
              tc: [{tcp2: or}]
            chains:
              c:
                - record: {}
            bindings:
              - {hook: tc, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c}
            """, "test.yaml:7: bindings[0].chain: chain c holds record, which does not exist on tc"),
        ("duplicate binding", binding("hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c")
            + "  - {hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c}\n", "test.yaml:8: bindings[1].selector: duplicate binding"),
        ("bindings not a list", "bindings: {a: 1}\n", "test.yaml:1: bindings: must be a list"),
    ]

    /// A policy with selector chain xdp [tcp2, tcp4, tcp], chain `c`, and one binding on line 7.
    static func binding(_ fields: String) -> String {
        """
        selectors:
          xdp: [{tcp2: or}, {tcp4: or}, {tcp: and}]
        chains:
          c:
            - set_recv_win: {window: 1600}
        bindings:
          - {\(fields)}

        """
    }

    @Test(arguments: cases.indices)
    func rejects(_ i: Int) throws {
        let (what, text, expected) = Self.cases[i]
        do {
            let (p, map) = try PolicyFile.parse(text, file: "test.yaml")
            try PolicyValidator.validate(p, modules: [], map: map)
            Issue.record("\(what): accepted")
        } catch let error as StoreError {
            let line = error.description
            #expect(line.hasPrefix(expected), "\(what): \(line)")
            #expect(!line.contains("\n"), "\(what): not one line")
        }
    }

    @Test func acceptsTheSampleAndItsJSON() throws {
        let (p, map) = try PolicyFile.parse(samplePolicyYAML, file: "test.yaml")
        try PolicyValidator.validate(p, modules: [], map: map)
        #expect(p.bindings.count == 3 && p.chains["slow"] == [.setRecvWin(window: 1600), .rmAddAddr])
        let json = PolicyFile.renderJSON(p)
        let (q, _) = try PolicyFile.parse(json, file: "test.json")
        #expect(q.canonical == p.canonical)
        // JSON errors name lines too.
        let bad = json.replacingOccurrences(of: "\"window\":1600", with: "\"window\":-1")
        #expect(throws: StoreError.self) { try PolicyFile.parse(bad, file: "t.json") }
    }

    @Test func exampleFileValidates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let (p, map) = try PolicyFile.load(path: root.appendingPathComponent("examples/policy.yaml").path)
        try PolicyValidator.validate(p, modules: [], map: map)
    }

    @Test func moduleActorsAndSelectorsNeedTheModuleTable() throws {
        let text = """
            selectors:
              xdp: [{geo: or}]
            chains:
              c:
                - mark: {param: 0x10}
            bindings: []
            """
        let (p, map) = try PolicyFile.parse(text, file: "m.yaml")
        #expect(throws: StoreError.self) { try PolicyValidator.validate(p, modules: [], map: map) }
        let modules = [
            ModuleRecord(name: "geo", hook: .xdp, kind: .selector, objectPath: "/x.o", slot: 16),
            ModuleRecord(name: "mark", hook: .xdp, kind: .actor, objectPath: "/y.o", slot: 16),
        ]
        try PolicyValidator.validate(p, modules: modules, map: map)
        #expect(p.chains["c"] == [.module(name: "mark", param: 16)])
        // A selector module on the wrong hook is rejected.
        let wrongHook = [ModuleRecord(name: "geo", hook: .tc, kind: .selector, objectPath: "/x.o", slot: 16), modules[1]]
        #expect(throws: StoreError.validation(file: "m.yaml", line: 2, key: "selectors.xdp[0]", message: "selector module geo exists on tc, not xdp")) {
            try PolicyValidator.validate(p, modules: wrongHook, map: map)
        }
    }
}
