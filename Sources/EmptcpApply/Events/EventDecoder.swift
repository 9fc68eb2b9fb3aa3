import CLibbpf
import EmptcpStore

/// Decodes ring-buffer records by header version and type, using the abi.h structs themselves
/// (imported through CLibbpf) for sizes and field offsets. Never traps on foreign input: anything it
/// cannot vouch for becomes `.unknown` with the reason.
public enum EventDecoder {
    public static let version = UInt16(EMPTCP_EVENT_VERSION)

    public static func decode(_ bytes: [UInt8]) -> EmptcpEvent {
        bytes.withUnsafeBytes { decode($0) }
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) -> EmptcpEvent {
        guard raw.count >= MemoryLayout<emptcp_event_hdr>.size else {
            return .unknown(nil, reason: "record of \(raw.count) bytes is shorter than the header", length: raw.count)
        }
        let h = raw.loadUnaligned(as: emptcp_event_hdr.self)
        let header = EventHeader(
            version: h.version, type: h.type, length: h.len,
            hook: h.hook == 0 ? "xdp" : h.hook == 1 ? "tc" : "hook\(h.hook)",
            ifindex: h.ifindex, timestampNs: h.ts_ns, flow: flow(h.flow))
        guard h.version == version else {
            return .unknown(header, reason: "event version \(h.version), this build reads \(version)", length: raw.count)
        }
        func body<T>(_: T.Type) -> T? {
            raw.count >= MemoryLayout<T>.size ? raw.loadUnaligned(as: T.self) : nil
        }
        func short(_ name: String, _ size: Int) -> EmptcpEvent {
            .unknown(header, reason: "\(name) record of \(raw.count) bytes, expected \(size)", length: raw.count)
        }
        switch UInt32(h.type) {
        case EMPTCP_EV_MP_CAPABLE.rawValue, EMPTCP_EV_MP_JOIN.rawValue, EMPTCP_EV_FIN.rawValue,
             EMPTCP_EV_RST.rawValue, EMPTCP_EV_MP_PRIO.rawValue:
            guard let e = body(emptcp_ev_mptcp.self) else { return short("MPTCP", MemoryLayout<emptcp_ev_mptcp>.size) }
            let isJoin = UInt32(h.type) == EMPTCP_EV_MP_JOIN.rawValue
            let signal = MptcpSignal(
                subtypeFlags: e.subtype_flags, tcpFlags: e.tcp_flags,
                senderKey: e.has_local_key != 0 ? UInt64(bigEndian: e.local_key) : nil,
                receiverKey: e.has_remote_key != 0 ? UInt64(bigEndian: e.remote_key) : nil,
                token: isJoin ? UInt32(bigEndian: e.token) : nil)
            switch UInt32(h.type) {
            case EMPTCP_EV_MP_CAPABLE.rawValue: return .mpCapable(header, signal)
            case EMPTCP_EV_MP_JOIN.rawValue: return .mpJoin(header, signal)
            case EMPTCP_EV_FIN.rawValue: return .fin(header, signal)
            case EMPTCP_EV_RST.rawValue: return .rst(header, signal)
            default: return .mpPrio(header, signal)
            }
        case EMPTCP_EV_RM_ADD_ADDR.rawValue:
            guard let e = body(emptcp_ev_add_addr.self) else {
                return short("RM_ADD_ADDR", MemoryLayout<emptcp_ev_add_addr>.size)
            }
            guard Int(e.opt_len) <= Int(EMPTCP_OPT_MAX) else {
                return .unknown(header, reason: "RM_ADD_ADDR option length \(e.opt_len) over \(EMPTCP_OPT_MAX)", length: raw.count)
            }
            let option = withUnsafeBytes(of: e.opt) { Array($0.prefix(Int(e.opt_len))) }
            return .removedAddAddr(header, RemovedAddAddr(
                seq: UInt32(bigEndian: e.seq), ack: UInt32(bigEndian: e.ack), window: UInt16(bigEndian: e.window),
                dropped: e.dropped != 0, option: option))
        case EMPTCP_EV_RECOVER_ADD_ADDR.rawValue:
            guard let e = body(emptcp_ev_ack_state.self) else {
                return short("RECOVER_ADD_ADDR", MemoryLayout<emptcp_ev_ack_state>.size)
            }
            return .ackState(header, AckState(
                seq: UInt32(bigEndian: e.seq), ack: UInt32(bigEndian: e.ack), window: UInt16(bigEndian: e.window),
                timestamps: e.has_ts != 0 ? .init(value: e.tsval, echo: e.tsecr) : nil,
                dataAck: e.has_data_ack != 0 ? e.data_ack : nil))
        default:
            return .unknown(header, reason: "event type \(h.type)", length: raw.count)
        }
    }

    static func flow(_ f: emptcp_flow) -> EventFlow? {
        let count: Int
        switch Int32(f.family) {
        case EMPTCP_AF_INET: count = 4
        case EMPTCP_AF_INET6: count = 16
        default: return nil
        }
        let s = withUnsafeBytes(of: f.saddr) { Array($0.prefix(count)) }
        let d = withUnsafeBytes(of: f.daddr) { Array($0.prefix(count)) }
        guard let source = IPAddress(bytes: s), let destination = IPAddress(bytes: d) else { return nil }
        return EventFlow(source: source, sourcePort: UInt16(bigEndian: f.sport),
                         destination: destination, destinationPort: UInt16(bigEndian: f.dport))
    }

    /// The key bytes of a flow as the BPF maps store them (struct emptcp_flow).
    static func flowKey(_ flow: EventFlow) -> emptcp_flow {
        var f = emptcp_flow()
        f.family = UInt8(flow.source.isIPv4 ? EMPTCP_AF_INET : EMPTCP_AF_INET6)
        f.sport = flow.sourcePort.bigEndian
        f.dport = flow.destinationPort.bigEndian
        withUnsafeMutableBytes(of: &f.saddr) { $0.copyBytes(from: flow.source.bytes) }
        withUnsafeMutableBytes(of: &f.daddr) { $0.copyBytes(from: flow.destination.bytes) }
        return f
    }
}
