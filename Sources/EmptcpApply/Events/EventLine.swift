import EmptcpStore
import Foundation

/// One event as printed by `emptcp events --json` (one object per line, snake_case keys, absent
/// fields omitted). Keys, tokens and option bytes are lowercase hex; a token is printed as
/// `ss -M` prints it.
public struct EventLine: Codable, Sendable, Equatable {
    /// docs/json.md: every line of the stream carries the schema version.
    public var schema: Int = OutputSchema.version
    public var type: String
    public var hook: String?
    public var ifindex: UInt32?
    public var ts_ns: UInt64?
    public var src: String?
    public var sport: UInt16?
    public var dst: String?
    public var dport: UInt16?
    public var tcp_flags: String?
    public var sender_key: String?
    public var sender_token: String?
    public var sender_idsn: String?
    public var receiver_key: String?
    public var receiver_token: String?
    public var receiver_idsn: String?
    public var token: String?
    public var backup: Bool?
    public var seq: UInt32?
    public var ack: UInt32?
    public var window: UInt16?
    public var dropped: Bool?
    public var addr_id: UInt8?
    public var option: String?
    public var tsval: UInt32?
    public var tsecr: UInt32?
    public var data_ack: UInt64?
    public var version: UInt16?
    public var event_type: UInt16?
    public var reason: String?
    public var length: Int?

    public init(_ event: EmptcpEvent) {
        type = event.name
        if let h = event.header {
            hook = h.hook
            ifindex = h.ifindex
            ts_ns = h.timestampNs
            if let f = h.flow {
                src = f.source.description
                sport = f.sourcePort
                dst = f.destination.description
                dport = f.destinationPort
            }
        }
        switch event {
        case .mpCapable(_, let s), .mpJoin(_, let s), .fin(_, let s), .rst(_, let s), .mpPrio(_, let s):
            tcp_flags = EventLine.flags(s.tcpFlags)
            if let k = s.senderKey {
                sender_key = EventLine.hex(k, 16)
                sender_token = EventLine.hex(UInt64(MptcpToken.token(key: k)), 0)
                sender_idsn = EventLine.hex(MptcpToken.idsn(key: k), 16)
            }
            if let k = s.receiverKey {
                receiver_key = EventLine.hex(k, 16)
                receiver_token = EventLine.hex(UInt64(MptcpToken.token(key: k)), 0)
                receiver_idsn = EventLine.hex(MptcpToken.idsn(key: k), 16)
            }
            if let t = s.token { token = EventLine.hex(UInt64(t), 0) }
            if case .mpPrio = event { backup = s.backup }
        case .removedAddAddr(_, let r):
            seq = r.seq
            ack = r.ack
            window = r.window
            dropped = r.dropped
            addr_id = r.addressId
            option = r.option.map { String(format: "%02x", $0) }.joined()
        case .ackState(_, let a):
            seq = a.seq
            ack = a.ack
            window = a.window
            tsval = a.timestamps?.value
            tsecr = a.timestamps?.echo
            data_ack = a.dataAck
        case .unknown(let h, let why, let n):
            version = h?.version
            event_type = h?.type
            reason = why
            length = n
        }
    }

    /// The JSON form, one line.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{\"type\":\"\(type)\"}"
    }

    /// The text form: `<ts_ns> <hook>/<ifindex> <TYPE> <src> > <dst> key=value ...`.
    public var text: String {
        var parts: [String] = []
        if let ts_ns { parts.append(String(ts_ns)) }
        if let hook, let ifindex { parts.append("\(hook)/\(ifindex)") }
        parts.append(type)
        if let src, let sport, let dst, let dport {
            let s = src.contains(":") ? "[\(src)]:\(sport)" : "\(src):\(sport)"
            let d = dst.contains(":") ? "[\(dst)]:\(dport)" : "\(dst):\(dport)"
            parts.append("\(s) > \(d)")
        }
        let fields: [(String, String?)] = [
            ("flags", tcp_flags), ("token", token),
            ("sender_token", sender_token), ("sender_key", sender_key), ("sender_idsn", sender_idsn),
            ("receiver_token", receiver_token), ("receiver_key", receiver_key), ("receiver_idsn", receiver_idsn),
            ("backup", backup.map { $0 ? "1" : "0" }),
            ("seq", seq.map(String.init)), ("ack", ack.map(String.init)), ("win", window.map(String.init)),
            ("tsval", tsval.map(String.init)), ("tsecr", tsecr.map(String.init)), ("data_ack", data_ack.map(String.init)),
            ("dropped", dropped.map { $0 ? "1" : "0" }), ("addr_id", addr_id.map(String.init)), ("option", option),
            ("version", version.map(String.init)), ("event_type", event_type.map(String.init)),
            ("length", length.map(String.init)), ("reason", reason.map { "\"\($0)\"" }),
        ]
        for (k, v) in fields { if let v { parts.append("\(k)=\(v)") } }
        return parts.joined(separator: " ")
    }

    static func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return width > s.count ? String(repeating: "0", count: width - s.count) + s : s
    }

    static func flags(_ f: UInt8) -> String {
        let names: [(UInt8, String)] = [(0x02, "S"), (0x10, "."), (0x08, "P"), (0x01, "F"), (0x04, "R"), (0x20, "U")]
        let s = names.filter { f & $0.0 != 0 }.map(\.1).joined()
        return s.isEmpty ? "none" : s
    }
}
