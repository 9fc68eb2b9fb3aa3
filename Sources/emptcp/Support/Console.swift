import Foundation

/// The one output path of the CLI: results on stdout, warnings and errors as single lines on
/// stderr, JSON with one set of encoder settings.
enum Console {
    /// Writes `text` to stdout, ending it with a newline.
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// Writes `line` to stderr as exactly one line: embedded line breaks become "; ".
    static func warn(_ line: String) {
        let single = line.split(whereSeparator: \.isNewline).joined(separator: "; ")
        FileHandle.standardError.write(Data((single + "\n").utf8))
    }

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
