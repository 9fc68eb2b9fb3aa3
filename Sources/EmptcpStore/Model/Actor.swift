/// One actor invocation inside an action chain, with typed parameters.
public enum ActorCall: Codable, Sendable, Hashable {
    /// Rewrite the TCP window field.
    case setRecvWin(window: UInt16)
    /// Insert MP_PRIO (B bit, optional address id for MPTCP v0 peers) into ACKs.
    case setFlowPrio(backup: Bool, addrId: UInt8?)
    /// Keep ADD_ADDR from the receiver (NOP it, or drop the segment when it is the only MPTCP option).
    case rmAddAddr
    /// Report the flow's latest ACK/DSS state so user space can re-deliver a removed ADD_ADDR.
    case recoverAddAddr
    /// Per-flow metrics.
    case record(packets: Bool, flow: Bool, rtt: Bool)
    /// Report MP_CAPABLE, MP_JOIN, FIN and RST.
    case catchMptcpEvents
    /// An operator module actor added with `emptcp module add`; `param` is its raw 8-byte block.
    case module(name: String, param: UInt64)

    /// The name used in policy files.
    public var name: String {
        switch self {
        case .setRecvWin: "set_recv_win"
        case .setFlowPrio: "set_flow_prio"
        case .rmAddAddr: "rm_add_addr"
        case .recoverAddAddr: "recover_add_addr"
        case .record: "record"
        case .catchMptcpEvents: "catch_mptcp_events"
        case .module(let name, _): name
        }
    }

    /// Hooks on which the built-in actor exists (docs/sdk.md, "Built-in actors"). Modules declare their hook when added.
    public var builtinHooks: Set<Hook>? {
        switch self {
        case .setRecvWin, .setFlowPrio, .rmAddAddr: [.xdp, .tc]
        case .recoverAddAddr, .record: [.xdp]
        case .catchMptcpEvents: [.tc]
        case .module: nil
        }
    }

    /// Names of the built-in actors, for error messages and validation.
    public static let builtinNames = [
        "set_recv_win", "set_flow_prio", "rm_add_addr", "recover_add_addr", "record", "catch_mptcp_events",
    ]
}
