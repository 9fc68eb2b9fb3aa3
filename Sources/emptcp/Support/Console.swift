import Foundation
import Logging

/// The one output path of the CLI: results on stdout, warnings and errors as single lines on
/// stderr, JSON with one set of encoder settings.
enum Console {
    /// Writes `text` to stdout, ending it with a newline.
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// Writes `line` to stderr as exactly one line: embedded line breaks become "; ". Under the
    /// journal the line carries the syslog priority of a warning (`<4>`).
    static func warn(_ line: String) { stderr(line, level: .warning) }

    /// The same for the one error line of a failed command (`<3>` under the journal).
    static func error(_ line: String) { stderr(line, level: .error) }

    private static func stderr(_ line: String, level: Logger.Level) {
        let single = line.split(whereSeparator: \.isNewline).joined(separator: "; ")
        let prefix = journal ? "<\(JournalStream.priority(level))>" : ""
        FileHandle.standardError.write(Data((prefix + single + "\n").utf8))
    }

    /// stderr is systemd's journal stream.
    static let journal = JournalStream.isStandardError(environment: ProcessInfo.processInfo.environment)

    /// Every JSON document the CLI prints: indented for people, keys sorted so the output is
    /// stable across runs, slashes unescaped (paths stay readable), dates in ISO 8601.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A time as the text output prints it.
    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
