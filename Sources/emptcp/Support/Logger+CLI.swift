import ArgumentParser
import EmptcpApply
import Foundation
import Logging

extension Logger {
    /// The CLI's one logger: stderr, so diagnostics never mix with the results on stdout. Its
    /// handler comes from `CLILogging.bootstrap`, which `Emptcp.main` calls once after parsing.
    static let cli = Logger(label: "emptcp")
}

/// How the CLI logs: the level (flags over environment), and the line format (syslog priority
/// prefixes when stderr is the journal, plain lines otherwise).
enum CLILogging {
    /// The level for `-v`/`-q` and EMPTCP_LOG_LEVEL: `-q` errors only; `-v` info, `-vv` debug,
    /// `-vvv` trace; without flags EMPTCP_LOG_LEVEL (trace … critical), else `fallback`.
    static func level(verbose: Int, quiet: Bool, environment: [String: String],
                      fallback: Logger.Level = .warning) -> Logger.Level {
        if quiet { return .error }
        switch verbose {
        case 0: return environment["EMPTCP_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? fallback
        case 1: return .info
        case 2: return .debug
        default: return .trace
        }
    }

    /// The level a command logs at when nothing asks otherwise: the daemon's log is the record
    /// of what it does (events, requests, repairs), so it starts at info; a one-shot command
    /// speaks only when something is wrong.
    static func defaultLevel(for command: ParsableCommand) -> Logger.Level {
        command is Emptcp.Daemon.Run ? .info : .warning
    }

    /// Installs the CLI's handler for every logger the process makes. Called once, before any
    /// command runs.
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in CLILogHandler(label: label, journal: Console.journal, logLevel: level) }
    }
}

/// Writes one line per event to stderr: under systemd's journal `<N>message key=value` (the
/// journal reads the syslog priority from the `<N>` prefix and adds its own time and unit), else
/// `TIME LEVEL emptcp: message key=value`.
struct CLILogHandler: LogHandler {
    let label: String
    let journal: Bool
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, journal: Bool, logLevel: Logger.Level) {
        self.label = label
        self.journal = journal
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        let line = Self.format(level: event.level, message: "\(event.message)", metadata: all, label: label,
                               journal: journal, time: Date())
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One log line. Line breaks inside the message become "; ": the journal (and grep) see one
    /// record per event.
    static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String,
                       journal: Bool, time: Date) -> String {
        var text = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        if !metadata.isEmpty {
            text += " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        if journal { return "<\(JournalStream.priority(level))>" + text }
        return "\(Console.iso(time)) \(level) \(label): \(text)"
    }
}

/// systemd connects a service's stderr to the journal and says so in JOURNAL_STREAM
/// ("DEVICE:INODE" of that stream, sd-daemon(3)); a child whose stderr was redirected inherits the
/// variable, so it counts only while it names the stream stderr actually is.
enum JournalStream {
    static func isStandardError(environment: [String: String]) -> Bool {
        guard let expected = environment["JOURNAL_STREAM"], !expected.isEmpty,
              let stream = Sys.fileIdentity(2) else { return false }
        return expected == "\(stream.device):\(stream.inode)"
    }

    /// The syslog priority (LOG_CRIT 2 … LOG_DEBUG 7) of a level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
