import EmptcpStore

/// MPTCP v1 key-derived values (RFC 8684 §3.1, §3.2): the token is the most significant 32 bits
/// of SHA-256 over the 64-bit key in network byte order, the initial data sequence number (IDSN)
/// the least significant 64 bits of the same hash.
public enum MptcpToken {
    /// `keyWire` is the 8-byte key exactly as it appears on the wire (big endian).
    public static func token(keyWire: [UInt8]) -> UInt32 {
        let d = SHA256.hash(keyWire)
        return UInt32(d[0]) << 24 | UInt32(d[1]) << 16 | UInt32(d[2]) << 8 | UInt32(d[3])
    }

    /// The IDSN of the key's owner.
    public static func idsn(keyWire: [UInt8]) -> UInt64 {
        let d = SHA256.hash(keyWire)
        return d[24..<32].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A key as a number (the big-endian value of its wire bytes), as `ss -M`/mptcpd print keys.
    public static func token(key: UInt64) -> UInt32 { token(keyWire: wire(key)) }
    public static func idsn(key: UInt64) -> UInt64 { idsn(keyWire: wire(key)) }

    static func wire(_ key: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: key >> (56 - 8 * UInt64($0))) }
    }
}
