import Foundation
import Testing
@testable import EmptcpStore

/// The store commands as real processes on real database files.
@Suite struct CLITests {
    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }
    var env: [String: String] { ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"] }

    func emptcp(_ args: String...) throws -> (Int32, String, String) {
        try run(emptcpBinary(), args, env: env)
    }

    func revisionCount() throws -> Int64 {
        try Database(path: db, busyTimeoutMs: 5000).scalarInt("SELECT count(*) FROM revision") ?? -1
    }

    @Test func commitShowRollbackDiffAudit() throws {
        let file = dir + "/p.yaml"
        write(samplePolicyYAML, to: file)
        var (rc, out, err) = try emptcp("commit", file, "-m", "first")
        #expect(rc == 0 && out.hasPrefix("revision 1: 3 bindings"), "\(err)")

        // show prints a file commit accepts unchanged, and it is identical (refused, exit 1).
        (rc, out, _) = try emptcp("show")
        write(out, to: dir + "/shown.yaml")
        (rc, _, err) = try emptcp("commit", dir + "/shown.yaml")
        #expect(rc == 1 && err == "emptcp commit: commit refused: content identical to current revision 1\n")

        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 800"), to: dir + "/p2.yaml")
        (rc, _, _) = try emptcp("commit", dir + "/p2.yaml")
        #expect(rc == 0)
        (rc, out, _) = try emptcp("diff", "1", "2")
        #expect(out == "~ chain slow: [set_recv_win: {window: 1600}, rm_add_addr: {}] => [set_recv_win: {window: 800}, rm_add_addr: {}]\n")
        (rc, out, _) = try emptcp("rollback")
        #expect(rc == 0 && out.hasPrefix("revision 3: restores revision 1"))
        (rc, out, _) = try emptcp("diff", "1")
        #expect(out == "no differences\n")

        // --json on every reading command parses.
        for args in [["log", "--json"], ["show", "--json"], ["show", "2", "--json"], ["diff", "1", "2", "--json"], ["audit", "--json"]] {
            (rc, out, err) = try run(emptcpBinary(), args, env: env)
            #expect(rc == 0, "\(args): \(err)")
            #expect((try? JSONSerialization.jsonObject(with: Data(out.utf8))) != nil, "\(args) is not JSON")
        }
        (rc, out, _) = try emptcp("log", "--json")
        let log = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any])["revisions"] as! [[String: Any]]
        #expect(log.map { $0["id"] as! Int } == [3, 2, 1])
        // The JSON form of show is a policy file too.
        (_, out, _) = try emptcp("show", "2", "--json")
        write(out, to: dir + "/two.json")
        (rc, out, _) = try emptcp("commit", dir + "/two.json")
        #expect(rc == 0 && out.hasPrefix("revision 4:"))

        (rc, out, _) = try emptcp("audit", "--since", "1h")
        #expect(out.split(separator: "\n").count == 5)
        #expect(out.contains("refused  commit refused: content identical"))
        // Unknown revisions and bad arguments exit 2.
        (rc, _, err) = try emptcp("show", "42")
        #expect(rc == 2 && err == "emptcp show: revision 42 not found\n")
        (rc, _, _) = try emptcp("diff", "x")
        #expect(rc == 2)
    }

    /// Usage errors exit 2, failures 1, each as exactly one line on stderr, before or after parsing.
    @Test func errorsAreOneLineWithExitTwoForUsageAndOneForFailure() throws {
        let cases: [([String], Int32)] = [
            (["no-such-command"], 2),
            (["log", "--no-such-flag"], 2),
            (["attach"], 2),                          // neither interfaces nor --all
            (["commit", "x.yaml", "--confirm", "0"], 2),
            (["diff", "x"], 2),
            (["events", "--count", "0"], 2),
            (["daemon", "--flows", "--restore-prio", "a"], 2),
            (["daemon", "flows", "--socket", dir + "/none.sock"], 1),
            (["daemon", "--flows", "--socket", dir + "/none.sock"], 1),
            (["confirm"], 1),
        ]
        for (args, code) in cases {
            let (rc, out, err) = try run(emptcpBinary(), args, env: env)
            #expect(rc == code, "\(args): \(err)")
            #expect(out.isEmpty, "\(args)")
            #expect(err.hasPrefix("emptcp") && err.hasSuffix("\n") && err.filter { $0 == "\n" }.count == 1, "\(args): \(err)")
        }
        // The client verbs name the subcommand the operator typed.
        let (_, _, err) = try emptcp("daemon", "recover-add-addr", "10.0.0.1:1-10.0.0.2:2", "--socket", dir + "/none.sock")
        #expect(err.hasPrefix("emptcp daemon recover-add-addr: "), "\(err)")
    }

    /// --db and --pin-root work before the subcommand as well as after it, and win over the environment.
    @Test func globalOptionsBeforeOrAfterTheSubcommand() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let other = dir + "/other.db"
        var (rc, _, err) = try emptcp("--db", other, "commit", dir + "/p.yaml")
        #expect(rc == 0, "\(err)")
        #expect(try PolicyStore(path: other).log(limit: nil).count == 1)
        #expect(!FileManager.default.fileExists(atPath: db))
        var out: String
        (rc, out, _) = try emptcp("log", "--db", other)
        #expect(rc == 0 && out.hasPrefix("1  "))
        (rc, out, _) = try emptcp("--pin-root", dir + "/elsewhere", "status", "--db", other)
        #expect(rc == 0 && out.hasPrefix("pin root: \(dir)/elsewhere "), "\(out)")
        (rc, out, _) = try emptcp("--version")
        #expect(rc == 0 && !out.isEmpty && out.filter { $0 == "\n" }.count == 1)
    }

    /// Every JSON document comes from one encoder: sorted keys, unescaped slashes.
    @Test func jsonOutputHasSortedKeysAndPlainSlashes() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        _ = try emptcp("commit", dir + "/p.yaml")
        let bad = dir + "/bad.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "chain: backup", with: "chain: bakup"), to: bad)
        _ = try emptcp("commit", bad)  // refused; the audit row names the file
        let (rc, out, _) = try emptcp("audit", "--json")
        #expect(rc == 0)
        #expect(out.contains("\"\(bad):13: bindings[2].chain: no chain named bakup\""), "\(out)")
        let rows = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any])["entries"] as! [[String: Any]]
        let keys = out.split(separator: "\n").prefix { !$0.hasPrefix("    }") }.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "\""), line.hasPrefix("      \"") else { return nil }
            return String(line[line.index(after: open)...].prefix { $0 != "\"" })
        }
        #expect(!rows.isEmpty && !keys.isEmpty && keys == keys.sorted(), "\(keys)")
    }

    @Test func validationErrorExitsTwoWritesNothingButAudits() throws {
        let file = dir + "/p.yaml"
        write(samplePolicyYAML, to: file)
        _ = try emptcp("commit", file)
        let bad = dir + "/bad.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "chain: backup", with: "chain: bakup"), to: bad)
        let (rc, out, err) = try emptcp("commit", bad)
        #expect(rc == 2 && out.isEmpty)
        #expect(err == "emptcp commit: \(bad):13: bindings[2].chain: no chain named bakup\n")
        #expect(try revisionCount() == 1)
        let audit = try PolicyStore(path: db).audit(since: nil)
        #expect(audit.last?.outcome == .failed && audit.last?.detail == "\(bad):13: bindings[2].chain: no chain named bakup")
        // A missing file is bad input too (exit 2), audited.
        let (rc2, _, err2) = try emptcp("commit", dir + "/nope.yaml")
        #expect(rc2 == 2 && err2 == "emptcp commit: \(dir)/nope.yaml: file: no such file\n")
    }

    /// Two processes committing at once: none lost, the parent chain stays linear.
    @Test func twoConcurrentCommittersGiveALinearHistory() throws {
        let perProcess = 200
        let base = try parse(samplePolicyYAML)
        for w in 0..<2 {
            for i in 0..<perProcess {
                var p = base
                p.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.0.\(w + 1)"), localPort: UInt16(1000 + i),
                                          remote: IPAddress("10.0.1.1"), remotePort: 80), chain: "slow"))
                write(PolicyFile.render(p), to: dir + "/w\(w)-\(i).yaml")
            }
        }
        let script = """
            for i in $(seq 0 \(perProcess - 1)); do "$EMPTCP" commit "$DIR/w$W-$i.yaml" -m "w$W $i" >/dev/null || echo "FAIL $i"; done
            """
        let workers = try (0..<2).map { w -> (Process, Pipe) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", script]
            p.environment = ProcessInfo.processInfo.environment.merging(env.merging(["EMPTCP": emptcpBinary(), "DIR": dir, "W": "\(w)"]) { $1 }) { $1 }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            return (p, out)
        }
        var failures = ""
        for (p, out) in workers {
            failures += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
        }
        #expect(failures.isEmpty, "\(failures.prefix(500))")
        let store = try PolicyStore(path: db)
        let log = try store.log(limit: nil)
        #expect(log.count == 2 * perProcess)
        // Linear: every revision's parent is the one before it.
        #expect(log.allSatisfy { $0.parent == ($0.id == 1 ? nil : $0.id - 1) })
        #expect(Set(log.compactMap(\.message)).count == 2 * perProcess)
        #expect(try store.audit(since: nil).filter { $0.action == "commit" && $0.outcome == .ok }.count == 2 * perProcess)
    }

    /// `commit --confirm` spawns a detached timer that rolls back when nobody confirms.
    @Test func unconfirmedCommitRollsBackByItself() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        _ = try emptcp("commit", dir + "/p.yaml")
        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 5"), to: dir + "/risky.yaml")
        let (rc, out, _) = try emptcp("commit", dir + "/risky.yaml", "--confirm", "1")
        #expect(rc == 0 && out.contains("run `emptcp confirm` within 1 s"))
        // Wait for the timer process (read with plain SQL: opening a PolicyStore would expire it itself).
        var count: Int64 = 0
        for _ in 0..<300 where count < 3 {
            usleep(100_000)
            count = try revisionCount()
        }
        #expect(count == 3)
        let store = try PolicyStore(path: db)
        let r3 = try store.revision(3)
        #expect(r3.action == "rollback" && r3.rollbackTo == 1 && r3.message?.hasPrefix("automatic rollback: revision 2") == true)
        #expect(try store.audit(since: nil).contains { $0.action == "confirm-expired" && $0.revision == 3 })
    }

    @Test func confirmedCommitStays() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        _ = try emptcp("commit", dir + "/p.yaml")
        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 5"), to: dir + "/risky.yaml")
        var (rc, _, _) = try emptcp("commit", dir + "/risky.yaml", "--confirm", "60")
        #expect(rc == 0)
        var out: String
        (rc, out, _) = try emptcp("log")
        #expect(out.contains("awaiting confirm until"))
        (rc, out, _) = try emptcp("confirm")
        #expect(rc == 0 && out == "revision 2 confirmed\n")
        let err: String
        (rc, _, err) = try emptcp("confirm")
        #expect(rc == 1 && err.contains("no commit is waiting for confirmation"))
        #expect(try PolicyStore(path: db).pendingConfirmation() == nil)
    }
}
