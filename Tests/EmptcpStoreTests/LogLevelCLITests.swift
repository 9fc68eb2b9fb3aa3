import Foundation
import Testing

/// `-v`/`-q` and EMPTCP_LOG_LEVEL choose what reaches stderr; under systemd's journal (stderr is
/// the stream JOURNAL_STREAM names) every line starts with its syslog priority `<N>`.
@Suite struct LogLevelCLITests {
    let dir = scratchDir()

    /// Runs emptcp through sh so stderr is a file whose device and inode the test knows.
    func emptcp(_ args: [String], journal: Bool = false, env: [String: String] = [:]) throws -> (Int32, String) {
        let err = dir + "/stderr-\(UUID().uuidString.prefix(6))"
        let quoted = ([emptcpBinary()] + args).map { "'\($0)'" }.joined(separator: " ")
        let stream = journal ? "JOURNAL_STREAM=$(stat -c %d:%i \"$ERR\") " : ""
        let (rc, _, _) = try run("/bin/sh", ["-c", "exec 2>\"$ERR\"; \(stream)exec \(quoted)"],
                                 env: env.merging(["ERR": err, "EMPTCP_DB": dir + "/\(UUID().uuidString.prefix(6)).db",
                                                   "EMPTCP_PIN_ROOT": dir + "/pins"]) { $1 })
        return (rc, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test func verboseFlagsRaiseTheLevelBeforeOrAfterTheSubcommand() throws {
        // Opening a fresh database migrates it, which logs at debug level.
        var (rc, err) = try emptcp(["log"])
        #expect(rc == 0 && err.isEmpty, "\(err)")
        (rc, err) = try emptcp(["-vv", "log"])
        #expect(rc == 0 && err.contains(" debug emptcp: migrating schema"), "\(err)")
        (rc, err) = try emptcp(["log", "-vv"])
        #expect(rc == 0 && err.contains(" debug emptcp: migrating schema"), "\(err)")
        (rc, err) = try emptcp(["-v", "log"])
        #expect(rc == 0 && !err.contains("debug"), "\(err)")
        (rc, err) = try emptcp(["log"], env: ["EMPTCP_LOG_LEVEL": "debug"])
        #expect(rc == 0 && err.contains("migrating schema"), "\(err)")
        // A flag wins over the environment.
        (rc, err) = try emptcp(["-q", "log"], env: ["EMPTCP_LOG_LEVEL": "debug"])
        #expect(rc == 0 && err.isEmpty, "\(err)")
    }

    @Test func quietKeepsTheErrorLine() throws {
        let (rc, err) = try emptcp(["-q", "show", "9"])
        #expect(rc == 2 && err == "emptcp show: revision 9 not found\n", "\(err)")
    }

    @Test func quietAndVerboseTogetherAreAUsageError() throws {
        let (rc, err) = try emptcp(["-q", "-v", "log"])
        #expect(rc == 2 && err.hasPrefix("emptcp: --quiet and --verbose exclude each other"), "\(err)")
    }

    @Test func journalStreamGetsSyslogPriorities() throws {
        let (rc, err) = try emptcp(["-vv", "show", "9"], journal: true)
        let lines = err.split(separator: "\n")
        #expect(rc == 2)
        #expect(lines.first?.hasPrefix("<7>migrating schema") == true, "\(err)")
        #expect(lines.last == "<3>emptcp show: revision 9 not found", "\(err)")
        // A JOURNAL_STREAM naming another stream (inherited, stderr redirected) is ignored.
        let (_, plain) = try emptcp(["show", "9"], env: ["JOURNAL_STREAM": "1:2"])
        #expect(plain == "emptcp show: revision 9 not found\n", "\(plain)")
    }
}
