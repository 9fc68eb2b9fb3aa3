import Foundation
import Testing
@testable import EmptcpStore

/// A corpus of bad policy files and command-line misuse, each through the `emptcp` process
/// against a database holding one revision. Every case must end (a watchdog kills a hung one),
/// print exactly one line on stderr and nothing on stdout, exit 2 (bad input) or 1 (failure),
/// and leave the database's content as it was apart from at most one `failed` audit row
/// (exactly one for a file the store read).
@Suite(.serialized) struct BadInputCorpusTests {
    static let files: [(String, String)] = HostileInputTests.deep.map { ("deep: " + $0.0, $0.1) }
        + HostileInputTests.typed.enumerated().map { ("typed \($0.offset)", $0.element.0) }
        + [
            ("syntax: unclosed flow", "chains: {c: [rm_add_addr]\n"),
            ("syntax: tab indentation", "chains:\n\tc: [rm_add_addr]\n"),
            ("anchor and alias bomb", "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nchains: {c: [*b]}\n"),
            ("block scalar", "chains:\n  c: >\n    rm_add_addr\n"),
            ("binary garbage", String(decoding: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }, as: UTF8.self)),
            ("NUL bytes", String(repeating: "\0", count: 1000)),
            ("a 1 MB chain name", "chains:\n  " + String(repeating: "a", count: 1 << 20) + ": [rm_add_addr]\n"),
            ("a top-level list", "- chains\n- bindings\n"),
            ("a scalar document", "just text\n"),
            ("duplicate section", "chains: {}\nchains: {}\n"),
            ("binding to a missing chain", "bindings:\n  - {hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: nope}\n"),
            ("address with a control character", "chains: {c: [rm_add_addr]}\nbindings:\n  - {hook: xdp, selector: tcp2, local: \"10.0.0.1\\e[2J\", remote: 10.0.0.2, chain: c}\n"),
            ("window as a float", "chains:\n  c:\n    - set_recv_win: {window: 5.0}\n"),
            ("window negative", "chains:\n  c:\n    - set_recv_win: {window: -1}\n"),
            ("two documents", "chains: {}\n---\nchains: {}\n"),
            ("BOM then deep", "\u{FEFF}" + String(repeating: "[", count: 5000)),
        ]

    static let misuse: [[String]] = [
        ["commit"], ["commit", "a", "b"], ["rollback", "abc"], ["rollback", "0"], ["show", "-1"], ["show", "999"],
        ["diff", "x"], ["diff"], ["audit", "--since", "yesterday-ish"], ["log", "-n", "abc"], ["nosuchcommand"],
        ["commit", "/dev/zero"], ["commit", "/etc"], ["commit", "/no/such/file.yaml"], ["commit", "--confirm", "0", "/dev/null"],
    ]

    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }

    /// Runs emptcp with a watchdog; nil when it had to be killed.
    func emptcp(_ args: [String]) throws -> (Int32, String, String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: emptcpBinary())
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"]) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        // A hang guard, not a speed check: bad input must end, however slowly the machine runs.
        if done.wait(timeout: .now() + 120) == .timedOut {
            p.terminate()
            return nil
        }
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Every table's rows as text, audit rows apart.
    func content() throws -> (tables: String, audit: [String]) {
        let (rc, dump, err) = try run("/usr/bin/sqlite3", [db, ".dump"])
        #expect(rc == 0, "\(err)")
        let lines = dump.split(separator: "\n").map(String.init)
        let audit = lines.filter { $0.hasPrefix("INSERT INTO audit ") }
        return (lines.filter { !$0.hasPrefix("INSERT INTO audit ") }.joined(separator: "\n"), audit)
    }

    func seed() throws {
        write(samplePolicyYAML, to: dir + "/seed.yaml")
        let r = try #require(try emptcp(["commit", dir + "/seed.yaml", "-m", "seed"]))
        #expect(r.0 == 0, "\(r.2)")
    }

    func expectBadInputHandled(_ what: String, _ args: [String], auditRow: Bool?) throws {
        let before = try content()
        guard let (rc, out, err) = try emptcp(args) else {
            Issue.record("\(what): did not finish")
            return
        }
        #expect(rc == 1 || rc == 2, "\(what): exit \(rc)")
        #expect(out.isEmpty, "\(what): stdout \(out.prefix(200))")
        #expect(err.hasSuffix("\n") && err.dropLast().split(separator: "\n", omittingEmptySubsequences: false).count == 1,
                "\(what): stderr \(err.prefix(300))")
        let after = try content()
        #expect(after.tables == before.tables, "\(what): content changed")
        let added = after.audit.count - before.audit.count
        switch auditRow {
        case true?: #expect(added == 1 && after.audit.last!.contains("'failed'"), "\(what): audit \(after.audit.suffix(1))")
        case false?: #expect(added == 0, "\(what): \(added) audit rows")
        case nil: #expect(added == 0 || (added == 1 && after.audit.last!.contains("'failed'")), "\(what): audit \(after.audit.suffix(1))")
        }
        #expect(Array(after.audit.prefix(before.audit.count)) == before.audit, "\(what): earlier audit rows changed")
    }

    @Test func badFiles() throws {
        try seed()
        for (i, (what, text)) in Self.files.enumerated() {
            let path = dir + "/bad-\(i).yaml"
            write(text, to: path)
            try expectBadInputHandled(what, ["commit", path], auditRow: true)
        }
    }

    @Test func oversizedAndSpecialFiles() throws {
        try seed()
        let big = dir + "/big.yaml"
        #expect(FileManager.default.createFile(atPath: big, contents: nil) && truncate(big, 64 << 30) == 0)
        try expectBadInputHandled("64 GiB sparse file", ["commit", big], auditRow: true)
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        try expectBadInputHandled("FIFO", ["commit", dir + "/fifo"], auditRow: true)
        try expectBadInputHandled("/dev/null", ["commit", "/dev/null"], auditRow: true)
    }

    @Test func commandLineMisuse() throws {
        try seed()
        for args in Self.misuse {
            try expectBadInputHandled(args.joined(separator: " "), args, auditRow: nil)
        }
    }
}
