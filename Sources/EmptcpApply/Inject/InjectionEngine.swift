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
    case optionTooLong(Int)

    public var description: String {
        switch self {
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

    enum CodingKeys: String, CodingKey {
        case flow, ackState = "ack_state", ackSeenNs = "ack_seen_ns", removed, removedSeenNs = "removed_seen_ns"
    }
}

/// What the ring buffer has shown per subflow: the latest ACK state (`recover_add_addr`) and the
/// removed ADD_ADDR options, in memory, for `emptcp daemon flows`. Segments are never built
/// from it: saved TCP state goes stale (the peer moves on, the actor may be unbound), so the
/// LiveRepairEngine reads the socket's state when it injects. The durable copy of the removed
/// options is the store's (ConnectionTracker). Single-threaded: the daemon's loop owns it.
public final class InjectionEngine {
    public private(set) var flows: [EventFlow: FlowInjectionState] = [:]
    /// Bound on tracked subflows; the least recently updated is forgotten beyond it.
    public let capacity: Int

    public init(capacity: Int = 65536) {
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
}
