/// Where things came from in a policy file, so validation errors can name the line.
/// Keys are the same dotted paths the errors print (`selectors.xdp`, `chains.slow[1]`); bindings
/// are kept by index because a large policy has many of them.
public struct SourceMap: Sendable {
    public var file: String?
    var lines: [String: Int] = [:]
    var bindingLines: [Int] = []
    /// What the file calls its list of bindings, for error keys (`bindings[3].chain`): a patch
    /// file's validated bindings are its `upsert` list.
    var bindingsKey = "bindings"
    /// Set when the fast path parsed the file (it records no lines): parses the text again the
    /// slow way to find lines, only when an error needs one.
    var recover: (@Sendable () -> SourceMap?)?

    public init(file: String? = nil) { self.file = file }

    func line(_ key: String) -> Int? { lines[key] }
    func bindingLine(_ index: Int) -> Int? { index < bindingLines.count ? bindingLines[index] : nil }

    func error(_ key: String, _ message: String, line: Int? = nil) -> StoreError {
        .validation(file: file, line: line ?? lines[key], key: key, message: message)
    }
}
