/// A policy file's name as the kernel sees it: bytes, which need not be UTF-8 (a Swift `String`
/// cannot hold such a name, so a command line argument is carried here as its raw bytes).
public struct PolicyPath: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ path: String) { bytes = Array(path.utf8) }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The name for messages: one printable line (control characters and non-UTF-8 bytes escaped).
    public var description: String { PrintableText.escape(bytes: bytes) }
}
