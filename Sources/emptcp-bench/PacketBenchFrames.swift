import EmptcpApply

/// Test frames for the packet benchmark: Ethernet + IPv4/IPv6 + TCP with options and valid
/// checksums, shaped like the segments seen in the lab (docs/lab.md).
enum BenchFrames {
    struct Endpoint {
        var addr: [UInt8]  // 4 or 16 bytes
        var port: UInt16
    }

    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] { [a, b, c, d] }

    static func v6(_ groups: [UInt16]) -> [UInt8] {
        groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// NOP NOP TS: the timestamp option as Linux sends it on every segment here.
    static let timestamps: [UInt8] = [1, 1, 8, 10, 0, 1, 0xe2, 0x40, 0, 0, 0x1f, 0x90]

    /// MPTCP DSS with a 64-bit data ACK (flags A|a), as on the server's pure ACKs.
    static let dssAck: [UInt8] = [30, 12, 0x20, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]

    /// ADD_ADDR (subtype 3, v1, echo 0) of `addr` with id 1 and an 8-byte truncated HMAC.
    static func addAddr(_ addr: [UInt8]) -> [UInt8] {
        let hmac: [UInt8] = [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18]
        let body = [UInt8(0x30), 1] + addr + hmac
        return [30, UInt8(2 + body.count)] + body
    }

    /// One frame from `src` to `dst`, ACK flag set, with `options` (padded to 4 bytes) and
    /// `payload` bytes of data.
    static func tcp(src: Endpoint, dst: Endpoint, options: [UInt8], payload: Int = 0) -> [UInt8] {
        var opts = options
        while opts.count % 4 != 0 { opts.append(1) }
        precondition(opts.count <= 40, "TCP options exceed 40 bytes")
        let dataOffset = (20 + opts.count) / 4
        var tcp: [UInt8] = []
        tcp += be16(src.port) + be16(dst.port)
        tcp += [0x12, 0x34, 0x56, 0x78]  // seq
        tcp += [0x9a, 0xbc, 0xde, 0xf0]  // ack
        tcp += [UInt8(dataOffset << 4), 0x10]  // ACK
        tcp += be16(502)  // window
        tcp += [0, 0, 0, 0]  // checksum, urgent pointer
        tcp += opts
        tcp += [UInt8](repeating: 0x61, count: payload)

        let isV6 = src.addr.count == 16
        var pseudo = src.addr + dst.addr
        if isV6 {
            pseudo += be32(UInt32(tcp.count)) + [0, 0, 0, 6]
        } else {
            pseudo += [0, 6] + be16(UInt16(tcp.count))
        }
        let csum = checksum(pseudo + tcp)
        tcp[16] = UInt8(csum >> 8)
        tcp[17] = UInt8(csum & 0xff)

        var ip: [UInt8]
        if isV6 {
            ip = [0x60, 0, 0, 0] + be16(UInt16(tcp.count)) + [6, 64] + src.addr + dst.addr
        } else {
            ip = [0x45, 0] + be16(UInt16(20 + tcp.count)) + [0, 1, 0x40, 0, 64, 6, 0, 0] + src.addr + dst.addr
            let c = checksum(ip)
            ip[10] = UInt8(c >> 8)
            ip[11] = UInt8(c & 0xff)
        }
        let eth: [UInt8] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02] + (isV6 ? [0x86, 0xdd] : [0x08, 0x00])
        return eth + ip + tcp
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    /// RFC 1071 Internet checksum: the injection engine's, so the bench frames and the crafted
    /// segments are summed by one piece of code.
    static func checksum(_ bytes: [UInt8]) -> UInt16 { InjectedSegment.checksum(bytes) }
}
