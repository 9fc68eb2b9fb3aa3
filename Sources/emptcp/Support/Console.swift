import EmptcpStore
import Foundation
import Logging

/// The one output path of the CLI: results on stdout, warnings and errors as single lines on
/// stderr, JSON with one set of encoder settings.
enum Console {
    /// Writes `text` to stdout, ending it with a newline. Text comes partly from others (commit
    /// messages, audit details, file names): each line's control characters (ESC sequences, CR)
    /// and bidi overrides are escaped so a terminal shows what the text holds.
    static func print(_ text: String) {
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        let safe = body.split(separator: "\n", omittingEmptySubsequences: false).map { PrintableText.escape(String($0)) }.joined(separator: "\n")
        FileHandle.standardOutput.write(Data((safe + "\n").utf8))
    }

    /// Writes one row of a listing (`log`, `audit`) as exactly one line: its fields come from
    /// others (messages, user names, details), so a line break in one is escaped like any other
    /// control character and cannot start a row that looks like history.
    static func printRow(_ row: String) {
        FileHandle.standardOutput.write(Data((PrintableText.escape(row) + "\n").utf8))
    }

    /// Writes a JSON document to stdout verbatim: JSON escapes what it must, and machine
    /// readers get the stored text unchanged.
    static func print(_ document: JSONDocument) {
        FileHandle.standardOutput.write(Data((document.text + "\n").utf8))
    }

    /// Writes machine-read text in a format with escaping of its own (the Prometheus text
    /// exposition) to stdout verbatim, as `print(_: JSONDocument)` does for JSON.
    static func printVerbatim(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `line` to stderr as exactly one line: embedded line breaks become "; ", other
    /// control characters are escaped. Under the journal the line carries the syslog priority
    /// of a warning (`<4>`).
    static func warn(_ line: String) { stderr(line, level: .warning) }

    /// The same for the one error line of a failed command (`<3>` under the journal).
    static func error(_ line: String) { stderr(line, level: .error) }

    private static func stderr(_ line: String, level: Logger.Level) {
        let single = line.split(whereSeparator: \.isNewline).joined(separator: "; ")
        let prefix = journal ? "<\(JournalStream.priority(level))>" : ""
        FileHandle.standardError.write(Data((prefix + PrintableText.escape(single) + "\n").utf8))
    }

    /// stderr is systemd's journal stream.
    static let journal = JournalStream.isStandardError(environment: ProcessInfo.processInfo.environment)

    /// Every JSON document the CLI prints: indented for people, keys sorted so the output is
    /// stable across runs, slashes unescaped (paths stay readable), dates in ISO 8601.
    static func json<T: Encodable>(_ value: T) throws -> JSONDocument {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return JSONDocument(text: String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A `--json` document (docs/json.md): `body`'s keys with `"schema"` beside them. A list is
    /// passed as a one-key dictionary (`["revisions": revisions]`), so every document is an object.
    static func document<T: Encodable>(_ body: T) throws -> JSONDocument { try json(Document(body: body)) }

    private struct Document<Body: Encodable>: Encodable {
        enum Key: String, CodingKey { case schema }
        let body: Body

        /// Both write into one keyed container, so the schema key sits beside the body's keys.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(OutputSchema.version, forKey: .schema)
            try body.encode(to: encoder)
        }
    }

    /// A time as the text output prints it.
    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}

/// A JSON document ready to print: `Console.print` writes it verbatim, not escaped like text.
struct JSONDocument {
    let text: String
}
