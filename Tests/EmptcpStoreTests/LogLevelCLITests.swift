import Foundation
import Testing

/// `-v`/`-q` and EMPTCP_LOG_LEVEL choose what reaches stderr; under systemd's journal (stderr is
/// the stream JOURNAL_STREAM names) every line starts with its syslog priority `<N>`.
@Suite struct LogLevelCLITests {
    let dir = scratchDir()
    var policy: String {
        let file = dir + "/policy.yaml"
        write(samplePolicyYAML, to: file)
        return file
    }

    /// A database path not used before: the first commit creates and migrates it, which logs
    /// at debug level.
    func freshDB() -> String { dir + "/\(UUID().uuidString.prefix(8)).db" }

    /// Runs emptcp through sh so stderr is a file whose device and inode the test knows.
    func emptcp(_ args: [String], db: String, journal: Bool = false, env: [String: String] = [:]) throws -> (Int32, String) {
        let err = dir + "/stderr-\(UUID().uuidString.prefix(6))"
        let quoted = ([emptcpBinary()] + args).map { "'\($0)'" }.joined(separator: " ")
        let stream = journal ? "JOURNAL_STREAM=$(stat -c %d:%i \"$ERR\") " : ""
        let (rc, _, _) = try run("/bin/sh", ["-c", "exec 2>\"$ERR\"; \(stream)exec \(quoted)"],
                                 env: env.merging(["ERR": err, "EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"]) { $1 })
        return (rc, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test func verboseFlagsRaiseTheLevelBeforeOrAfterTheSubcommand() throws {
        let file = policy
        var (rc, err) = try emptcp(["commit", file], db: freshDB())
        #expect(rc == 0 && err.isEmpty, "\(err)")
        (rc, err) = try emptcp(["-vv", "commit", file], db: freshDB())
        #expect(rc == 0 && err.contains(" debug emptcp: migrating schema"), "\(err)")
        (rc, err) = try emptcp(["commit", file, "-vv"], db: freshDB())
        #expect(rc == 0 && err.contains(" debug emptcp: migrating schema"), "\(err)")
        (rc, err) = try emptcp(["-v", "commit", file], db: freshDB())
        #expect(rc == 0 && !err.contains("debug"), "\(err)")
        (rc, err) = try emptcp(["commit", file], db: freshDB(), env: ["EMPTCP_LOG_LEVEL": "debug"])
        #expect(rc == 0 && err.contains("migrating schema"), "\(err)")
        // A flag wins over the environment.
        (rc, err) = try emptcp(["-q", "commit", file], db: freshDB(), env: ["EMPTCP_LOG_LEVEL": "debug"])
        #expect(rc == 0 && err.isEmpty, "\(err)")
    }

    @Test func quietKeepsTheErrorLine() throws {
        let db = freshDB()
        _ = try emptcp(["commit", policy], db: db)
        let (rc, err) = try emptcp(["-q", "show", "9"], db: db)
        #expect(rc == 2 && err == "emptcp show: revision 9 not found\n", "\(err)")
    }

    @Test func quietAndVerboseTogetherAreAUsageError() throws {
        let (rc, err) = try emptcp(["-q", "-v", "log"], db: freshDB())
        #expect(rc == 2 && err.hasPrefix("emptcp: --quiet and --verbose exclude each other"), "\(err)")
    }

    @Test func journalStreamGetsSyslogPriorities() throws {
        let db = freshDB()
        var (rc, err) = try emptcp(["-vv", "commit", policy], db: db, journal: true)
        #expect(rc == 0)
        #expect(err.split(separator: "\n").first?.hasPrefix("<7>migrating schema") == true, "\(err)")
        (rc, err) = try emptcp(["show", "9"], db: db, journal: true)
        #expect(rc == 2 && err == "<3>emptcp show: revision 9 not found\n", "\(err)")
        // A JOURNAL_STREAM naming another stream (inherited, stderr redirected) is ignored.
        (rc, err) = try emptcp(["show", "9"], db: db, env: ["JOURNAL_STREAM": "1:2"])
        #expect(err == "emptcp show: revision 9 not found\n", "\(err)")
    }
}
