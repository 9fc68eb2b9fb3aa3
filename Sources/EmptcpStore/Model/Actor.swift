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

    /// The parameters under the names the policy file gives them.
    private enum ParamKey: String, CodingKey {
        case window, backup, addrId = "addr_id", pkt, flow, rtt, param
    }

    /// As the policy file writes it: `{"set_recv_win": {"window": 1600}}`, `{"rm_add_addr": {}}`.
    public func encode(to encoder: Encoder) throws {
        var outer = encoder.container(keyedBy: NameKey.self)
        var p = outer.nestedContainer(keyedBy: ParamKey.self, forKey: NameKey(name))
        switch self {
        case .setRecvWin(let window): try p.encode(window, forKey: .window)
        case .setFlowPrio(let backup, let addrId):
            try p.encode(backup, forKey: .backup)
            try p.encodeIfPresent(addrId, forKey: .addrId)
        case .rmAddAddr, .recoverAddAddr, .catchMptcpEvents: break
        case .record(let packets, let flow, let rtt):
            try p.encode(packets, forKey: .pkt)
            try p.encode(flow, forKey: .flow)
            try p.encode(rtt, forKey: .rtt)
        case .module(_, let param): try p.encode(param, forKey: .param)
        }
    }

    /// Reads the form `encode(to:)` writes (one key: the actor's name).
    public init(from decoder: Decoder) throws {
        let outer = try decoder.container(keyedBy: NameKey.self)
        guard outer.allKeys.count == 1, let key = outer.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an actor is one {NAME: {PARAMS}}"))
        }
        let p = try outer.nestedContainer(keyedBy: ParamKey.self, forKey: key)
        switch key.stringValue {
        case "set_recv_win": self = .setRecvWin(window: try p.decode(UInt16.self, forKey: .window))
        case "set_flow_prio":
            self = .setFlowPrio(backup: try p.decode(Bool.self, forKey: .backup), addrId: try p.decodeIfPresent(UInt8.self, forKey: .addrId))
        case "rm_add_addr": self = .rmAddAddr
        case "recover_add_addr": self = .recoverAddAddr
        case "catch_mptcp_events": self = .catchMptcpEvents
        case "record":
            self = .record(packets: try p.decodeIfPresent(Bool.self, forKey: .pkt) ?? true,
                           flow: try p.decodeIfPresent(Bool.self, forKey: .flow) ?? true,
                           rtt: try p.decodeIfPresent(Bool.self, forKey: .rtt) ?? true)
        default: self = .module(name: key.stringValue, param: try p.decodeIfPresent(UInt64.self, forKey: .param) ?? 0)
        }
    }

    /// Names of the built-in actors, for error messages and validation.
    public static let builtinNames = [
        "set_recv_win", "set_flow_prio", "rm_add_addr", "recover_add_addr", "record", "catch_mptcp_events",
    ]
}
