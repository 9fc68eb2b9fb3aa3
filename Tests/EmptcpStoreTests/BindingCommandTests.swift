import Foundation
import Testing
@testable import EmptcpStore

/// `emptcp binding add|set|remove` as real processes: one binding changed per revision, with
/// commit's validation and audit, and the same content a full commit of the result has.
@Suite struct BindingCommandTests {
    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }

    func emptcp(_ args: String..., db: String? = nil) throws -> (Int32, String, String) {
        try run(emptcpBinary(), args, env: ["EMPTCP_DB": db ?? self.db, "EMPTCP_PIN_ROOT": dir + "/pins"])
    }

    func revisionCount() throws -> Int64 {
        try Database(path: db, busyTimeoutMs: 5000).scalarInt("SELECT count(*) FROM revision") ?? -1
    }

    static let key = ["--hook", "xdp", "--selector", "tcp4", "--local", "10.0.9.1", "--local-port", "443",
                      "--remote", "10.0.9.2", "--remote-port", "50000"]

    func binding(_ verb: String, _ extra: [String]) throws -> (Int32, String, String) {
        try run(emptcpBinary(), ["binding", verb] + Self.key + extra, env: ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"])
    }

    @Test func addSetRemoveMakeRevisionsWithTheContentOfAFullCommit() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        var (rc, out, err) = try emptcp("commit", dir + "/p.yaml")
        #expect(rc == 0, "\(err)")
        (rc, out, err) = try binding("add", ["--chain", "slow", "-m", "open 443"])
        #expect(rc == 0 && out.hasPrefix("revision 2: 4 bindings"), "\(err)")
        (rc, out, err) = try binding("set", ["--chain", "backup"])
        #expect(rc == 0 && out.hasPrefix("revision 3: 4 bindings"), "\(err)")

        // The same result committed whole, into another database: the same content hash.
        var p = try parse(samplePolicyYAML)
        p.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.9.1"), localPort: 443,
                                             remote: IPAddress("10.0.9.2"), remotePort: 50000), chain: "backup"))
        let whole = try PolicyStore(path: dir + "/whole.db")
        let wholeRev = try whole.commit(p, message: nil)
        let store = try PolicyStore(path: db, mode: .existing)
        #expect(try store.currentRevision()?.contentHash == wholeRev.contentHash)
        #expect(try store.currentPolicy().canonical == p.canonical)

        (rc, out, err) = try binding("remove", [])
        #expect(rc == 0 && out.hasPrefix("revision 4: 3 bindings"), "\(err)")
        // Back to the first revision's content.
        #expect(try store.currentRevision()?.contentHash == store.revision(1).contentHash)

        // Each change is audited as a commit, with its message.
        let commits = try store.audit(since: nil).filter { $0.action == "commit" }
        #expect(commits.count == 4)
        #expect(commits.contains { $0.detail.contains("open 443") })
    }

    @Test func refusedChangesAreOneLineExitTwoAuditedAndChangeNothing() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        var (rc, _, err) = try emptcp("commit", dir + "/p.yaml")
        #expect(rc == 0, "\(err)")
        (rc, _, err) = try binding("add", ["--chain", "slow"])
        #expect(rc == 0, "\(err)")
        let cases: [([String], String)] = [
            (["binding", "add"] + Self.key + ["--chain", "slow"],
             "emptcp binding add: binding: xdp tcp4 local=10.0.9.1 local_port=443 remote=10.0.9.2 remote_port=50000 exists (bound to chain slow); change it with `emptcp binding set`\n"),
            (["binding", "add", "--hook", "xdp", "--selector", "tcp2", "--local", "10.0.8.1", "--remote", "10.0.8.2", "--chain", "nope"],
             "emptcp binding add: --chain: no chain named nope\n"),
            (["binding", "add", "--hook", "xdp", "--selector", "tcp2", "--local", "10.0.8.1", "--chain", "slow"],
             "emptcp binding add: --remote: required for tcp2\n"),
            (["binding", "set", "--hook", "xdp", "--selector", "tcp2", "--local", "10.0.8.1", "--remote", "10.0.8.2", "--chain", "slow"],
             "emptcp binding set: binding: no binding xdp tcp2 local=10.0.8.1 remote=10.0.8.2; add it with `emptcp binding add`\n"),
            (["binding", "remove", "--hook", "tc", "--selector", "tcp"],
             "emptcp binding remove: remove: no binding tc tcp\n"),
        ]
        for (args, line) in cases {
            (rc, _, err) = try run(emptcpBinary(), args, env: ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"])
            #expect(rc == 2 && err == line, "\(args): \(rc) \(err)")
        }
        #expect(try revisionCount() == 2)
        let failed = try PolicyStore(path: db, mode: .existing).audit(since: nil).filter { $0.action == "commit" && $0.outcome != .ok }
        #expect(failed.count == cases.count)

        // Flags that cannot name a binding are usage errors before the store is opened.
        for bad in [["--local", "10.0.0.300"], ["--local-port", "0"]] {
            (rc, _, err) = try run(emptcpBinary(), ["binding", "add", "--hook", "xdp", "--selector", "tcp4", "--chain", "slow"] + bad,
                                   env: ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"])
            #expect(rc == 2 && err.split(separator: "\n").count == 1, "\(bad): \(err)")
        }
        #expect(try revisionCount() == 2)
    }
}
