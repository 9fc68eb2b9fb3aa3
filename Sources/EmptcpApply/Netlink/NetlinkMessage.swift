/// Netlink message framing (RFC 3549): a 16-byte header in host order, then the payload padded
/// to 4 bytes; attributes are (length, type, value) padded to 4 bytes, nested ones carry
/// further attributes. Only what the MPTCP path manager and sock_diag exchanges need.
struct NetlinkMessage {
    static let headerSize = 16
    static let typeError: UInt16 = 2
    static let typeDone: UInt16 = 3
    static let flagRequest: UInt16 = 0x1
    static let flagMulti: UInt16 = 0x2
    static let flagAck: UInt16 = 0x4
    static let flagDump: UInt16 = 0x300

    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    var payload: ArraySlice<UInt8>

    /// Frames `payload` as one message.
    static func encode(type: UInt16, flags: UInt16, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize + payload.count)
        bytes += le32(UInt32(headerSize + payload.count)) + le16(type) + le16(flags) + le32(sequence) + le32(0)
        bytes += payload
        return bytes
    }

    /// The messages of one received datagram; a truncated tail is ignored.
    static func split(_ buffer: ArraySlice<UInt8>) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var at = buffer.startIndex
        while at + headerSize <= buffer.endIndex {
            let length = Int(readLE32(buffer, at))
            guard length >= headerSize, at + length <= buffer.endIndex else { break }
            messages.append(NetlinkMessage(type: readLE16(buffer, at + 4), flags: readLE16(buffer, at + 6),
                                           sequence: readLE32(buffer, at + 8), payload: buffer[(at + headerSize)..<(at + length)]))
            at += (length + 3) & ~3
        }
        return messages
    }

    /// For an NLMSG_ERROR message: the errno (0 = an acknowledgment) and the extended-ack text.
    var errorCode: (code: Int32, message: String?)? {
        guard type == NetlinkMessage.typeError, payload.count >= 4 else { return nil }
        let code = -Int32(bitPattern: readLE32(payload, payload.startIndex))
        // After the error code comes the request's header (and its payload unless capped); then,
        // with NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG (1) when the kernel explains itself.
        var message: String?
        let capped = flags & 0x100 != 0, hasTLVs = flags & 0x200 != 0  // NLM_F_CAPPED, NLM_F_ACK_TLVS
        if hasTLVs, payload.count >= 4 + NetlinkMessage.headerSize {
            let echoedLength = Int(readLE32(payload, payload.startIndex + 4))
            let skip = 4 + (capped ? NetlinkMessage.headerSize : (echoedLength + 3) & ~3)
            if payload.count > skip {
                let attributes = NetlinkAttributes(payload[(payload.startIndex + skip)...])
                if let text = attributes[1] { message = String(decoding: text.prefix { $0 != 0 }, as: UTF8.self) }
            }
        }
        return (code, message)
    }
}

/// Parsed attributes of one level, by type (the nested and byte-order flags masked off). A type
/// that repeats (the control family's list of groups) is kept in `all`.
struct NetlinkAttributes {
    private(set) var all: [(type: UInt16, value: ArraySlice<UInt8>)] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var at = bytes.startIndex
        while at + 4 <= bytes.endIndex {
            let length = Int(readLE16(bytes, at))
            guard length >= 4, at + length <= bytes.endIndex else { break }
            all.append((readLE16(bytes, at + 2) & 0x3fff, bytes[(at + 4)..<(at + length)]))
            at += (length + 3) & ~3
        }
    }

    subscript(type: UInt16) -> ArraySlice<UInt8>? { all.last { $0.type == type }?.value }

    func u8(_ type: UInt16) -> UInt8? { self[type].flatMap { $0.first } }
    func u16(_ type: UInt16) -> UInt16? { self[type].flatMap { $0.count >= 2 ? readLE16($0, $0.startIndex) : nil } }
    func u32(_ type: UInt16) -> UInt32? { self[type].flatMap { $0.count >= 4 ? readLE32($0, $0.startIndex) : nil } }
    /// A 16-bit value in network order (ports).
    func be16(_ type: UInt16) -> UInt16? { self[type].flatMap { $0.count >= 2 ? UInt16($0[$0.startIndex]) << 8 | UInt16($0[$0.startIndex + 1]) : nil } }
    func nested(_ type: UInt16) -> NetlinkAttributes? { self[type].map(NetlinkAttributes.init) }
}

/// Builds a run of attributes.
struct NetlinkAttributeWriter {
    private(set) var bytes: [UInt8] = []

    mutating func put(_ type: UInt16, _ value: [UInt8]) {
        bytes += le16(UInt16(4 + value.count)) + le16(type) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
    mutating func put(_ type: UInt16, u8 value: UInt8) { put(type, [value]) }
    mutating func put(_ type: UInt16, u16 value: UInt16) { put(type, le16(value)) }
    mutating func put(_ type: UInt16, u32 value: UInt32) { put(type, le32(value)) }
    mutating func put(_ type: UInt16, be16 value: UInt16) { put(type, [UInt8(value >> 8), UInt8(value & 0xff)]) }
    mutating func put(_ type: UInt16, string: String) { put(type, Array(string.utf8) + [0]) }
    /// A nested attribute (NLA_F_NESTED set, as the kernel's strict validation wants).
    mutating func nest(_ type: UInt16, _ inner: NetlinkAttributeWriter) { put(type | 0x8000, inner.bytes) }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)] }
func readLE16(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
func readLE32(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}
