/// The version of every JSON document the CLI and the daemon print (docs/json.md). Each document
/// carries it as its top-level `"schema"` key, on every line of a stream too; it changes only
/// when a key is renamed or removed or its type changes, never for a key added.
public enum OutputSchema {
    public static let version = 1
}

/// A coding key spelled at run time: the policy file names actors and selectors by their own
/// names (`{set_recv_win: {window: 1600}}`), and JSON output follows the file.
struct NameKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
