import EmptcpStore

/// A TCP segment to hand to the local stack as if the peer had sent it (docs/events.md, "the injection engine"): a pure ACK
/// whose sequence number is the peer's next one, acknowledging nothing we have not sent, carrying
/// saved MPTCP option bytes verbatim (an ADD_ADDR's HMAC cannot be forged afresh).
public struct InjectedSegment: Sendable, Hashable {
    /// The flow as on the wire: the peer is the source, we are the destination.
    public var flow: EventFlow
    public var seq: UInt32
    public var ack: UInt32
    public var window: UInt16
    /// TCP timestamps (value, echo); nil leaves the option out. A TSval ahead of the peer's would
    /// make its later real segments fail PAWS, one behind makes this one fail it, so the engine
    /// omits it (the kernel accepts a segment without timestamps).
    public var timestamps: (UInt32, UInt32)?
    /// Option bytes after any timestamp option, each option whole (kind, length, ...).
    public var options: [UInt8]

    public init(flow: EventFlow, seq: UInt32, ack: UInt32, window: UInt16, timestamps: (UInt32, UInt32)? = nil, options: [UInt8]) {
        self.flow = flow
        self.seq = seq
        self.ack = ack
        self.window = window
        self.timestamps = timestamps
        self.options = options
    }

    public static func == (a: InjectedSegment, b: InjectedSegment) -> Bool {
        a.flow == b.flow && a.seq == b.seq && a.ack == b.ack && a.window == b.window && a.options == b.options
            && a.timestamps?.0 == b.timestamps?.0 && a.timestamps?.1 == b.timestamps?.1
    }

    public func hash(into h: inout Hasher) {
        h.combine(flow); h.combine(seq); h.combine(ack); h.combine(options)
    }

    /// The TCP option area: timestamps (NOP NOP TS) when set and room remains, then `options`,
    /// NOP-padded to a multiple of 4. Nil when the options alone exceed 40 bytes.
    public var optionArea: [UInt8]? {
        guard options.count <= 40 else { return nil }
        var area: [UInt8] = []
        if let (value, echo) = timestamps, options.count + 12 <= 40 {
            area += [1, 1, 8, 10] + be32(value) + be32(echo)
        }
        area += options
        while area.count % 4 != 0 { area.append(1) }
        return area.count <= 40 ? area : nil
    }

    /// The whole IP packet (IPv4 or IPv6 header + TCP header with options), checksums filled.
    public func packet() -> [UInt8]? {
        guard let area = optionArea else { return nil }
        let tcpLength = 20 + area.count
        var tcp: [UInt8] = be16(flow.sourcePort) + be16(flow.destinationPort) + be32(seq) + be32(ack)
        tcp += [UInt8((tcpLength / 4) << 4), 0x10 /* ACK */] + be16(window) + [0, 0] + [0, 0]
        tcp += area
        let src = flow.source.bytes, dst = flow.destination.bytes
        var pseudo = src + dst
        if flow.source.isIPv4 {
            pseudo += [0, 6] + be16(UInt16(tcpLength))
        } else {
            pseudo += be32(UInt32(tcpLength)) + [0, 0, 0, 6]
        }
        let sum = InjectedSegment.checksum(pseudo + tcp)
        tcp[16] = UInt8(sum >> 8)
        tcp[17] = UInt8(sum & 0xff)
        if flow.source.isIPv4 {
            var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + tcpLength)) + [0, 0, 0x40, 0 /* DF */, 64, 6, 0, 0] + src + dst
            let ipSum = InjectedSegment.checksum(ip)
            ip[10] = UInt8(ipSum >> 8)
            ip[11] = UInt8(ipSum & 0xff)
            return ip + tcp
        }
        let ip: [UInt8] = [0x60, 0, 0, 0] + be16(UInt16(tcpLength)) + [6, 64] + src + dst
        return ip + tcp
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

/// MPTCP option bytes the engine sends.
public enum MptcpOption {
    /// MP_PRIO (RFC 8684 §3.3.8), the 3-byte form Linux honours: kind 30, length 3, subtype 5, B bit.
    public static func mpPrio(backup: Bool) -> [UInt8] { [30, 3, 0x50 | (backup ? 1 : 0)] }

    /// The address an ADD_ADDR option announces (RFC 8684 §3.4.1, with HMAC): its id, the
    /// address (IPv4 for lengths 16 and 18, IPv6 for 28 and 30) and the port when present.
    public static func announced(_ bytes: [UInt8]) -> (id: UInt8, address: IPAddress, port: UInt16?)? {
        guard isAddAddr(bytes) else { return nil }
        let v4 = bytes.count == 16 || bytes.count == 18
        let v6 = bytes.count == 28 || bytes.count == 30
        guard v4 || v6, let address = IPAddress(bytes: Array(bytes[4..<(v4 ? 8 : 20)])) else { return nil }
        let portAt = v4 ? 8 : 20
        let port = bytes.count == 18 || bytes.count == 30 ? UInt16(bytes[portAt]) << 8 | UInt16(bytes[portAt + 1]) : nil
        return (bytes[3], address, port)
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { let s = String($0, radix: 16); return $0 < 16 ? "0" + s : s }.joined()
    }

    public static func bytes(hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let b = UInt8(String(decoding: chars[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
            i += 2
        }
        return out
    }

    /// True when `bytes` is one ADD_ADDR option (kind 30, subtype 3) whose length byte matches.
    public static func isAddAddr(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && bytes[0] == 30 && Int(bytes[1]) == bytes.count && bytes[2] >> 4 == 3
    }
}

private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
