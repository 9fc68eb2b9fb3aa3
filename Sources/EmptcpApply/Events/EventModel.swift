import CLibbpf
import EmptcpStore

/// A flow as a ring-buffer record names it: on the wire, source to destination.
public struct EventFlow: Hashable, Sendable, Codable, CustomStringConvertible {
    public let source: IPAddress
    public let sourcePort: UInt16
    public let destination: IPAddress
    public let destinationPort: UInt16

    enum CodingKeys: String, CodingKey {
        case source, sourcePort = "source_port", destination, destinationPort = "destination_port"
    }

    public init(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }

    /// The same flow seen from the other direction.
    public var reversed: EventFlow {
        EventFlow(source: destination, sourcePort: destinationPort, destination: source, destinationPort: sourcePort)
    }

    /// `10.0.1.2:5201 > 10.0.1.1:40000`, IPv6 addresses in brackets.
    public var description: String { "\(EventFlow.endpoint(source, sourcePort)) > \(EventFlow.endpoint(destination, destinationPort))" }

    public static func endpoint(_ a: IPAddress, _ port: UInt16) -> String {
        a.isIPv4 ? "\(a):\(port)" : "[\(a)]:\(port)"
    }

    /// Parses `ADDR:PORT-ADDR:PORT` (or with `>` / `,` between), IPv6 in brackets.
    public init?(parsing text: String) {
        let separators: Set<Character> = ["-", ">", ","]
        var parts: [String] = []
        var current = ""
        var inBracket = false
        for c in text where c != " " {
            if c == "[" { inBracket = true } else if c == "]" { inBracket = false }
            if !inBracket && separators.contains(c) {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        guard parts.count == 2, let a = EventFlow.parseEndpoint(parts[0]), let b = EventFlow.parseEndpoint(parts[1]),
              a.0.isIPv4 == b.0.isIPv4
        else { return nil }
        self.init(source: a.0, sourcePort: a.1, destination: b.0, destinationPort: b.1)
    }

    static func parseEndpoint(_ s: String) -> (IPAddress, UInt16)? {
        guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let address = IPAddress(host) else { return nil }
        return (address, port)
    }
}

/// Fields every record carries (struct emptcp_event_hdr).
public struct EventHeader: Sendable, Hashable, Codable {
    public let version: UInt16
    public let type: UInt16
    public let length: UInt16
    /// "xdp" or "tc" (or "hook<N>" for a value this build does not know).
    public let hook: String
    public let ifindex: UInt32
    public let timestampNs: UInt64
    /// Nil when the record's family byte is neither IPv4 nor IPv6.
    public let flow: EventFlow?

    enum CodingKeys: String, CodingKey { case version, type, length, hook, ifindex, timestampNs = "timestamp_ns", flow }
}

/// EMPTCP_EV_RM_ADD_ADDR: a removed ADD_ADDR, byte for byte, and the segment's TCP state.
public struct RemovedAddAddr: Sendable, Hashable, Codable {
    public let seq: UInt32
    public let ack: UInt32
    public let window: UInt16
    /// The whole segment was dropped (ADD_ADDR was its only MPTCP option), else the option was NOPed.
    public let dropped: Bool
    /// The option bytes from its kind byte (30) on.
    public let option: [UInt8]

    /// The address id of the announced address (byte 3 of the option), if present.
    public var addressId: UInt8? { option.count > 3 ? option[3] : nil }
}

/// EMPTCP_EV_RECOVER_ADD_ADDR: the latest ACK state of a flow.
public struct AckState: Sendable, Hashable, Codable {
    public let seq: UInt32
    public let ack: UInt32
    public let window: UInt16
    public let timestamps: Timestamps?
    public let dataAck: UInt64?

    enum CodingKeys: String, CodingKey { case seq, ack, window, timestamps, dataAck = "data_ack" }

    public struct Timestamps: Sendable, Hashable, Codable {
        public let value: UInt32
        public let echo: UInt32
    }
}

/// MP_CAPABLE, MP_JOIN, FIN, RST, MP_PRIO.
public struct MptcpSignal: Sendable, Hashable, Codable {
    public let subtypeFlags: UInt8
    public let tcpFlags: UInt8
    /// MP_CAPABLE: the sender's key as an unsigned big-endian number (nil when absent).
    public let senderKey: UInt64?
    /// MP_CAPABLE: the receiver's key (third ACK), nil when absent.
    public let receiverKey: UInt64?
    /// MP_JOIN: the receiver's token (host order).
    public let token: UInt32?

    enum CodingKeys: String, CodingKey {
        case subtypeFlags = "subtype_flags", tcpFlags = "tcp_flags", senderKey = "sender_key", receiverKey = "receiver_key", token
    }

    /// Token of the sender's connection (SHA-256 of its key, RFC 8684 §3.2).
    public var senderToken: UInt32? { senderKey.map { MptcpToken.token(key: $0) } }
    public var receiverToken: UInt32? { receiverKey.map { MptcpToken.token(key: $0) } }
    public var senderIdsn: UInt64? { senderKey.map { MptcpToken.idsn(key: $0) } }
    public var receiverIdsn: UInt64? { receiverKey.map { MptcpToken.idsn(key: $0) } }
    /// MP_PRIO's B bit.
    public var backup: Bool { subtypeFlags & 0x01 != 0 }
}

/// One decoded ring-buffer record.
public enum EmptcpEvent: Sendable, Hashable {
    case mpCapable(EventHeader, MptcpSignal)
    case mpJoin(EventHeader, MptcpSignal)
    case fin(EventHeader, MptcpSignal)
    case rst(EventHeader, MptcpSignal)
    case mpPrio(EventHeader, MptcpSignal)
    case removedAddAddr(EventHeader, RemovedAddAddr)
    case ackState(EventHeader, AckState)
    /// A version or type this build does not know, or a record too short for its type: counted
    /// and shown, never trusted.
    case unknown(EventHeader?, reason: String, length: Int)

    public var header: EventHeader? {
        switch self {
        case .mpCapable(let h, _), .mpJoin(let h, _), .fin(let h, _), .rst(let h, _), .mpPrio(let h, _): h
        case .removedAddAddr(let h, _): h
        case .ackState(let h, _): h
        case .unknown(let h, _, _): h
        }
    }

    /// The name shown in output.
    public var name: String {
        switch self {
        case .mpCapable: "MP_CAPABLE"
        case .mpJoin: "MP_JOIN"
        case .fin: "FIN"
        case .rst: "RST"
        case .mpPrio: "MP_PRIO"
        case .removedAddAddr: "RM_ADD_ADDR"
        case .ackState: "ACK_STATE"
        case .unknown: "UNKNOWN"
        }
    }
}
