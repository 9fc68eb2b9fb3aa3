import Foundation
import Testing
@testable import EmptcpStore

/// `emptcp commit --patch FILE` as real processes: bindings upserted and removed through
/// `commit(changes:)`, validated and audited like a commit, with the content a full commit of
/// the result has; a bad patch changes nothing but the audit log.
@Suite struct CommitPatchTests {
    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }

    func emptcp(_ args: String...) throws -> (Int32, String, String) {
        try run(emptcpBinary(), args, env: ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"])
    }

    /// Every row of every table but the audit log, in a stable order: what a refused patch must
    /// leave as it was.
    func contentOutsideAudit() throws -> [String] {
        let d = try Database(path: db, busyTimeoutMs: 5000)
        let tables = try d.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'audit' ORDER BY name").rows { $0.text(0) }
        var out: [String] = []
        for t in tables {
            let s = try d.prepare("SELECT * FROM \"\(t)\" ORDER BY rowid")
            s.bind([])
            while try s.step() {
                out.append(t + ": " + (0..<s.columnCount).map { s.textOrNil($0) ?? "NULL" }.joined(separator: "|"))
            }
        }
        out.append("user_version \(try d.scalarInt("PRAGMA user_version") ?? -1)")
        return out
    }

    @Test func upsertsAndRemovalsMakeTheRevisionOfAFullCommit() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        var (rc, out, err) = try emptcp("commit", dir + "/p.yaml")
        #expect(rc == 0, "\(err)")
        write("""
            upsert:
              - {hook: xdp, selector: tcp4, local: 10.0.9.1, local_port: 443, remote: 10.0.9.2, remote_port: 50000, chain: slow}
              - {hook: xdp, selector: tcp2, local: 10.0.1.1, remote: 10.0.1.2, chain: backup}
            remove:
              - {hook: tc, selector: tcp2, local: "fd00::1", remote: "fd00::2"}
            """, to: dir + "/fix.yaml")
        (rc, out, err) = try emptcp("commit", "--patch", dir + "/fix.yaml", "-m", "patched")
        #expect(rc == 0 && out.hasPrefix("revision 2: 3 bindings"), "\(out) \(err)")

        // The same result committed whole, into another database: the same content and hash.
        var p = try parse(samplePolicyYAML)
        p.bindings[0].chain = "backup"
        p.bindings.remove(at: 2)
        p.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.9.1"), localPort: 443,
                                             remote: IPAddress("10.0.9.2"), remotePort: 50000), chain: "slow"))
        let whole = try PolicyStore(path: dir + "/whole.db").commit(p, message: nil)
        let store = try PolicyStore(path: db, mode: .existing)
        #expect(try store.currentRevision()?.contentHash == whole.contentHash)
        #expect(try store.currentPolicy().canonical == p.canonical)
        let audit = try store.audit(since: nil).filter { $0.action == "commit" }
        #expect(audit.last?.outcome == .ok && audit.last?.detail.hasSuffix("(upsert 2, remove 1); patched") == true, "\(audit)")

        // JSON is read by the same parser; re-applying the same patch changes nothing and is refused.
        write(#"{"upsert": [{"hook": "xdp", "selector": "tcp2", "local": "10.0.1.1", "remote": "10.0.1.2", "chain": "backup"}]}"#,
              to: dir + "/same.json")
        (rc, _, err) = try emptcp("commit", "--patch", dir + "/same.json")
        #expect(rc == 1 && err == "emptcp commit: commit refused: content identical to current revision 2\n", "\(err)")
    }

    @Test func badPatchesAreOneLineExitTwoAndLeaveTheDatabaseButAnAuditRow() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        var (rc, _, err) = try emptcp("commit", dir + "/p.yaml")
        #expect(rc == 0, "\(err)")
        let before = try contentOutsideAudit()
        let tcp2 = "{hook: xdp, selector: tcp2, local: 10.0.1.1, remote: 10.0.1.2"
        let cases: [(String, String)] = [
            ("upsert:\n  - \(tcp2), chain: bakup}\n", "bad.yaml:2: upsert[0].chain: no chain named bakup"),
            ("upsert:\n  - \(tcp2), local_port: 80, chain: slow}\n", "bad.yaml:2: upsert[0].local_port: tcp2 keys on addresses only; use tcp4 for ports"),
            ("upsert:\n  - {hook: tc, selector: tcp4, local: 10.0.1.1, local_port: 1, remote: 10.0.1.2, remote_port: 2, chain: slow}\n",
             "bad.yaml:2: upsert[0].selector: tcp4 is not in the tc selector chain (selectors.tc)"),
            ("upsert:\n  - \(tcp2), chain: slow}\n  - \(tcp2), chain: backup}\n",
             "bad.yaml:3: upsert[1].selector: duplicate binding (xdp tcp2 local=10.0.1.1 remote=10.0.1.2)"),
            ("remove:\n  - {hook: tc, selector: tcp2, local: \"fd00::1\", remote: \"fd00::3\"}\n",
             "bad.yaml:2: remove[0]: no binding tc tcp2 local=fd00::1 remote=fd00::3"),
            ("remove:\n  - \(tcp2), chain: slow}\n",
             "bad.yaml:2: remove[0].chain: unknown key (expected one of hook, selector, local, local_port, remote, remote_port)"),
            ("upsert:\n  - \(tcp2), chain: backup}\nremove:\n  - \(tcp2)}\n",
             "bad.yaml:4: remove[0]: xdp tcp2 local=10.0.1.1 remote=10.0.1.2 is both upserted and removed"),
            ("remove:\n  - \(tcp2)}\n  - \(tcp2)}\n", "bad.yaml:3: remove[1]: xdp tcp2 local=10.0.1.1 remote=10.0.1.2 listed twice"),
            ("bindings: []\n", "bad.yaml:1: bindings: unknown key (expected one of upsert, remove)"),
            ("upsert: {a: 1}\n", "bad.yaml:1: upsert: must be a list"),
            ("upsert: [\n", "bad.yaml:2: syntax: while parsing a flow node did not find expected node content"),
        ]
        for (text, line) in cases {
            write(text, to: dir + "/bad.yaml")
            (rc, _, err) = try emptcp("commit", "--patch", dir + "/bad.yaml")
            #expect(rc == 2 && err == "emptcp commit: \(dir)/\(line)\n", "\(text): \(rc) \(err)")
        }
        #expect(try contentOutsideAudit() == before)
        let failed = try PolicyStore(path: db, mode: .existing).audit(since: nil).filter { $0.action == "commit" && $0.outcome == .failed }
        #expect(failed.count == cases.count)

        // A patch or a policy file, not both or neither; --check reads policy files only.
        for args in [["commit"], ["commit", dir + "/p.yaml", "--patch", dir + "/bad.yaml"], ["commit", "--check", "--patch", dir + "/bad.yaml"]] {
            (rc, _, err) = try run(emptcpBinary(), args, env: ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"])
            #expect(rc == 2 && err.split(separator: "\n").count == 1, "\(args): \(rc) \(err)")
        }
        #expect(try contentOutsideAudit() == before)
    }
}
