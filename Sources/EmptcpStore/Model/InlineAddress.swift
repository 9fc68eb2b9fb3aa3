import Glibc

/// An IPv4 or IPv6 address held in place: its network-order bytes in two words, no heap
/// storage. What a binding row carries from the store into a map key: at 100k bindings, an
/// `IPAddress` per address (an array each) costs more than the whole key building.
public struct InlineAddress: Sendable, Equatable {
    // The first 4 or 16 bytes of these two words, in memory order, are the address.
    private var head: UInt64 = 0
    private var tail: UInt64 = 0
    public let isIPv4: Bool

    /// Byte count: 4 or 16.
    public var count: Int { isIPv4 ? 4 : 16 }

    /// Parses dotted IPv4 or textual IPv6 from NUL-terminated text (inet_pton rules, as
    /// `IPAddress(String)`), without making a String of it.
    public init?(cString text: UnsafePointer<CChar>) {
        var words: (UInt64, UInt64) = (0, 0)
        if withUnsafeMutableBytes(of: &words, { inet_pton(AF_INET, text, $0.baseAddress) }) == 1 {
            isIPv4 = true
        } else if withUnsafeMutableBytes(of: &words, { inet_pton(AF_INET6, text, $0.baseAddress) }) == 1 {
            isIPv4 = false
        } else {
            return nil
        }
        (head, tail) = words
    }

    public init(_ address: IPAddress) {
        isIPv4 = address.isIPv4
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: address.bytes) }
        (head, tail) = words
    }

    /// The address's 4 or 16 bytes, without a copy.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let words = (head, tail)
        return try Swift.withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }

    /// The same address as an `IPAddress` (for messages and `Binding` values).
    public var address: IPAddress { withUnsafeBytes { IPAddress(bytes: Array($0))! } }
}
