import Foundation
import Testing
@testable import EmptcpStore

/// Bad input and misuse through the `emptcp` process: one line, exit 2 (bad input) or 1
/// (failure), nothing created or committed that was not asked for, and text that cannot
/// drive the terminal.
@Suite struct HostileCLITests {
    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }
    var env: [String: String] { ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"] }

    func emptcp(_ args: String...) throws -> (Int32, String, String) {
        try run(emptcpBinary(), args, env: env)
    }

    /// Runs `script` under /bin/sh with $EMPTCP set to the binary (for umask, raw bytes, users).
    func shell(_ script: String) throws -> (Int32, String, String) {
        try run("/bin/sh", ["-c", script], env: env.merging(["EMPTCP": emptcpBinary()]) { $1 })
    }

    func seed() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let (rc, _, err) = try emptcp("commit", dir + "/p.yaml", "-m", "seed")
        #expect(rc == 0, "\(err)")
    }

    func oneLine(_ err: String) -> Bool { err.hasSuffix("\n") && err.dropLast().split(separator: "\n").count == 1 }

    @Test func deepFileEndsInOneLineExitTwoAndAFailedAuditRow() throws {
        try seed()
        let deep = dir + "/deep.yaml"
        write("chains: " + String(repeating: "[", count: 7000) + String(repeating: "]", count: 7000) + "\n", to: deep)
        let (rc, out, err) = try emptcp("commit", deep)
        #expect(rc == 2 && out.isEmpty && oneLine(err), "\(rc) \(err.prefix(300))")
        #expect(err == "emptcp commit: \(deep):1: syntax: nested more than 32 levels deep\n")
        let store = try PolicyStore(path: db)
        #expect(try store.log(limit: nil).count == 1)
        #expect(try store.audit(since: nil).last?.outcome == .failed)
    }

    @Test func emptyDatabasePathIsRefused() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        for (args, environment) in [(["commit", dir + "/p.yaml", "--db", ""], env), (["commit", dir + "/p.yaml"], ["EMPTCP_DB": ""])] {
            let (rc, out, err) = try run(emptcpBinary(), args, env: environment)
            #expect(rc == 2 && out.isEmpty, "\(args): \(rc) \(out)")
            #expect(err == "emptcp commit: database: an empty path names no database file (SQLite would use a temporary one); give a file path\n")
        }
    }

    @Test func readingCommandsOpenExistingDatabasesOnly() throws {
        let missing = dir + "/no/such/dir/x.db"
        for command in [["log"], ["show"], ["diff", "1"], ["audit"], ["status"]] {
            let (rc, out, err) = try run(emptcpBinary(), command + ["--db", missing], env: env)
            #expect(rc == 1 && out.isEmpty, "\(command): \(rc) \(out)")
            #expect(err == "emptcp \(command[0]): \(missing): no such database (only a commit creates one)\n")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/no"))
    }

    @Test func filesThatAreNotPolicyFiles() throws {
        try seed()
        // A name that is not UTF-8 names its file all the same.
        var (rc, out, err) = try shell(
            "printf 'chains:\\n  c: [rm_add_addr]\\n' > \"$(printf '\(dir)/x\\377.yaml')\"; " +
            "exec \"$EMPTCP\" commit \"$(printf '\(dir)/x\\377.yaml')\"")
        #expect(rc == 0 && out.hasPrefix("revision 2:"), "\(rc) \(err)")
        for (path, kind) in [("/dev/null", "a character device"), ("/dev/zero", "a character device"), (dir, "a directory")] {
            (rc, out, err) = try emptcp("commit", path)
            #expect(rc == 2 && err == "emptcp commit: \(path): file: not a regular file (\(kind))\n", "\(err)")
        }
        (rc, _, err) = try shell("mkfifo '\(dir)/fifo' && exec \"$EMPTCP\" commit '\(dir)/fifo'")
        #expect(rc == 2 && err == "emptcp commit: \(dir)/fifo: file: not a regular file (a FIFO)\n", "\(err)")
        // A rollback to what is current says what it is.
        (rc, _, err) = try emptcp("rollback", "2")
        #expect(rc == 1 && err == "emptcp rollback: rollback refused: revision 2 has the same content as current revision 2; it is already the current content\n")
    }

    @Test func terminalControlsAreEscapedJSONStaysVerbatim() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let message = "ok\u{1b}]0;owned\u{07}\u{1b}[2J\rfake\u{202e}txt"
        var (rc, out, err) = try emptcp("commit", dir + "/p.yaml", "-m", message)
        #expect(rc == 0, "\(err)")
        for command in ["log", "audit"] {
            (rc, out, _) = try emptcp(command)
            #expect(rc == 0)
            #expect(!out.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\r" || $0 == "\u{07}" || $0 == "\u{202e}" }, "\(command): \(out)")
            #expect(out.contains("ok\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}fake\\u{202e}txt"), "\(command): \(out)")
        }
        (rc, out, _) = try emptcp("log", "--json")
        let document = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let log = document["revisions"] as! [[String: Any]]
        #expect(log.first?["message"] as? String == message)
    }

    @Test func databaseIsOwnerOnlyWhateverTheUmask() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let state = dir + "/state/sub"
        let (rc, _, err) = try shell("umask 000; exec \"$EMPTCP\" commit --db '\(state)/emptcp.db' '\(dir)/p.yaml'")
        #expect(rc == 0, "\(err)")
        func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue }
        #expect(try mode(dir + "/state") == 0o700 && mode(state) == 0o700)
        #expect(try mode(state + "/emptcp.db") == 0o600)
    }

    @Test func readerWithReadAccessReads() throws {
        try seed()
        // A database from before owner-only files: readable by others, in a directory they cannot write.
        #expect(chmod(db, 0o644) == 0 && chmod(dir, 0o755) == 0)
        let (rc, out, err) = try shell("exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$EMPTCP\" log --db '\(db)'")
        #expect(rc == 0 && out.contains("commit  3 bindings") && out.contains("seed"), "\(rc) \(err)")
    }
}
