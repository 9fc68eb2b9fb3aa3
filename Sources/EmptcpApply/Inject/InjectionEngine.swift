import EmptcpStore

/// Sends a crafted IP packet into the local stack.
public protocol SegmentSender {
    func send(_ packet: [UInt8], to destination: IPAddress) throws
}

/// Sends through a raw IP socket (IPPROTO_RAW: we write the IP header) addressed to our own
/// address, so the packet is looped back and received by the local TCP stack as if it came from
/// the peer. One socket per family, opened on first use, closed with the sender: no frame or
/// descriptor outlives a request, and no interface name is involved.
public final class RawSocketSender: SegmentSender {
    private var sockets: [Bool: Descriptor] = [:]

    public init() {}

    public func send(_ packet: [UInt8], to destination: IPAddress) throws {
        let v6 = !destination.isIPv4
        let socket: Descriptor
        if let open = sockets[v6] {
            socket = open
        } else {
            socket = try Sys.rawIPSocket(v6: v6)
            sockets[v6] = socket
        }
        try Sys.sendRaw(socket, packet: packet, destination: destination.bytes, "segment to \(destination)")
    }
}

public enum InjectError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownFlow(String)
    case nothingRemoved(String)
    case noTCPState(String)
    case optionTooLong(Int)

    public var description: String {
        switch self {
        case .unknownFlow(let f): "no events seen for flow \(f) (is recover_add_addr or rm_add_addr in its xdp chain?)"
        case .nothingRemoved(let f): "no removed ADD_ADDR saved for flow \(f)"
        case .noTCPState(let f): "no ACK state seen for flow \(f); add recover_add_addr to its xdp chain"
        case .optionTooLong(let n): "option of \(n) bytes does not fit a TCP header"
        }
    }
}

/// What the engine knows about one subflow, keyed as XDP sees it: the peer is the source.
public struct FlowInjectionState: Sendable, Codable, Equatable {
    public let flow: EventFlow
    public var ackState: AckState?
    public var ackSeenNs: UInt64 = 0
    /// Removed ADD_ADDR options, one per distinct byte string (retransmissions are one), in order.
    public var removed: [RemovedAddAddr] = []
    public var removedSeenNs: UInt64 = 0
    /// Segments re-delivered so far.
    public var injected: Int = 0

    enum CodingKeys: String, CodingKey {
        case flow, ackState = "ack_state", ackSeenNs = "ack_seen_ns", removed, removedSeenNs = "removed_seen_ns", injected
    }
}

/// The injection engine: consumes events, keeps per-subflow TCP state and removed ADD_ADDR
/// options, and on request re-delivers them (or an MP_PRIO B=0) into the local stack.
/// Single-threaded: the daemon's event loop owns it.
public final class InjectionEngine {
    public private(set) var flows: [EventFlow: FlowInjectionState] = [:]
    private let sender: SegmentSender
    /// Bound on tracked subflows; the least recently updated is forgotten beyond it.
    public let capacity: Int

    public init(sender: SegmentSender, capacity: Int = 65536) {
        self.sender = sender
        self.capacity = capacity
    }

    public func observe(_ event: EmptcpEvent) {
        switch event {
        case .ackState(let h, let a):
            guard h.hook == "xdp", let flow = h.flow else { return }
            update(flow) {
                $0.ackState = a
                $0.ackSeenNs = h.timestampNs
            }
        case .removedAddAddr(let h, let r):
            guard h.hook == "xdp", let flow = h.flow, MptcpOption.isAddAddr(r.option) else { return }
            update(flow) { state in
                if let i = state.removed.firstIndex(where: { $0.option == r.option }) {
                    state.removed[i] = r  // a retransmission: same bytes, newer TCP state
                } else {
                    state.removed.append(r)
                }
                state.removedSeenNs = h.timestampNs
            }
        case .fin(let h, _), .rst(let h, _):
            guard let flow = h.flow else { return }
            flows[flow] = nil
            flows[flow.reversed] = nil
        default:
            return
        }
    }

    private func update(_ flow: EventFlow, _ change: (inout FlowInjectionState) -> Void) {
        var state = flows[flow] ?? FlowInjectionState(flow: flow)
        change(&state)
        flows[flow] = state
        if flows.count > capacity, let oldest = flows.values.min(by: { max($0.ackSeenNs, $0.removedSeenNs) < max($1.ackSeenNs, $1.removedSeenNs) }) {
            flows[oldest.flow] = nil
        }
    }

    /// The state of `flow` given in either direction.
    public func state(_ flow: EventFlow) -> FlowInjectionState? { flows[flow] ?? flows[flow.reversed] }

    /// The peer's most recent (seq, ack, window) on this subflow: the newer of the latest ACK
    /// state and the latest removed segment.
    func tcpState(_ s: FlowInjectionState) -> (seq: UInt32, ack: UInt32, window: UInt16)? {
        let fromAck = s.ackState.map { (seq: $0.seq, ack: $0.ack, window: $0.window, at: s.ackSeenNs) }
        let fromRemoved = s.removed.last.map { (seq: $0.seq, ack: $0.ack, window: $0.window, at: s.removedSeenNs) }
        let best = [fromAck, fromRemoved].compactMap { $0 }.max { $0.at < $1.at }
        return best.map { ($0.seq, $0.ack, $0.window) }
    }

    /// Re-delivers every saved ADD_ADDR of the subflow, one segment each; returns them.
    @discardableResult
    public func recoverAddAddr(flow: EventFlow) throws -> [InjectedSegment] {
        guard var s = state(flow) else { throw InjectError.unknownFlow(flow.description) }
        guard !s.removed.isEmpty else { throw InjectError.nothingRemoved(s.flow.description) }
        guard let tcp = tcpState(s) else { throw InjectError.noTCPState(s.flow.description) }
        var sent: [InjectedSegment] = []
        for r in s.removed {
            let segment = InjectedSegment(flow: s.flow, seq: tcp.seq, ack: tcp.ack, window: tcp.window, options: r.option)
            try send(segment)
            sent.append(segment)
        }
        s.injected += sent.count
        flows[s.flow] = s
        return sent
    }

    /// Delivers MP_PRIO B=0 on the subflow, so the local stack no longer treats it as backup.
    @discardableResult
    public func restorePriority(flow: EventFlow) throws -> InjectedSegment {
        guard var s = state(flow) else { throw InjectError.unknownFlow(flow.description) }
        guard let tcp = tcpState(s) else { throw InjectError.noTCPState(s.flow.description) }
        let segment = InjectedSegment(flow: s.flow, seq: tcp.seq, ack: tcp.ack, window: tcp.window, options: MptcpOption.mpPrio(backup: false))
        try send(segment)
        s.injected += 1
        flows[s.flow] = s
        return segment
    }

    private func send(_ segment: InjectedSegment) throws {
        guard let packet = segment.packet() else { throw InjectError.optionTooLong(segment.options.count) }
        try sender.send(packet, to: segment.flow.destination)
    }
}
