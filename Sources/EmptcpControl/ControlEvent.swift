import EmptcpApply

/// What the daemon tells a controller (docs/controllers.md). Tokens are the path manager's
/// connection tokens (8 hex digits); subflows are seen from this host.
public enum ControlEvent: Sendable, Equatable {
    /// With the initial subflow when the kernel names it.
    case connectionCreated(token: String, subflow: SubflowKey?)
    case connectionEstablished(token: String, subflow: SubflowKey?)
    case connectionClosed(token: String)
    case subflowEstablished(token: String, subflow: SubflowKey, backup: Bool)
    case subflowClosed(token: String, subflow: SubflowKey)
    case subflowPriority(token: String, subflow: SubflowKey, backup: Bool)
    /// At the interval the controller asked for: the `record` actor's per-flow counters and
    /// every MPTCP subflow's byte counters.
    case flowMetrics(flows: [FlowStats], subflows: [SubflowMetrics])

    /// The event of a daemon line; nil for replies and events this version does not know.
    init?(_ line: ControlLine) {
        guard line.type == "event", let name = line.event else { return nil }
        let token = line.token ?? ""
        let subflow = line.subflow.flatMap(SubflowKey.init(parsing:))
        switch name {
        case "connection_created": self = .connectionCreated(token: token, subflow: subflow)
        case "connection_established": self = .connectionEstablished(token: token, subflow: subflow)
        case "connection_closed": self = .connectionClosed(token: token)
        case "subflow_established":
            guard let subflow else { return nil }
            self = .subflowEstablished(token: token, subflow: subflow, backup: line.backup ?? false)
        case "subflow_closed":
            guard let subflow else { return nil }
            self = .subflowClosed(token: token, subflow: subflow)
        case "subflow_priority":
            guard let subflow else { return nil }
            self = .subflowPriority(token: token, subflow: subflow, backup: line.backup ?? false)
        case "flow_metrics": self = .flowMetrics(flows: line.flows ?? [], subflows: line.subflows ?? [])
        default: return nil
        }
    }
}

/// A verb the daemon refused or could not make the kernel hold.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
