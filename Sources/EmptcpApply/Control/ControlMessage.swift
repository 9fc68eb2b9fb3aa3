import EmptcpStore
import Foundation

/// What a controller sends on the daemon's socket after its `control` line (docs/controllers.md):
/// one JSON object per line, answered by one `reply` line with the same `id`.
///   {"schema":1,"id":1,"verb":"bind","hook":"tc","flow":"10.0.1.1:40000-10.0.2.2:5201","chain":"metered"}
///   {"schema":1,"id":2,"verb":"unbind","hook":"tc","flow":"..."}
///   {"schema":1,"id":3,"verb":"set_priority","subflow":"10.0.1.1:40000-10.0.2.2:5201","backup":true}
public struct ControlCommand: Codable, Sendable, Equatable {
    public var schema: Int = OutputSchema.version
    public var id: Int64
    public var verb: String
    public var hook: String?
    public var flow: String?
    public var chain: String?
    public var subflow: String?
    public var backup: Bool?

    public init(id: Int64, verb: String, hook: String? = nil, flow: String? = nil, chain: String? = nil, subflow: String? = nil, backup: Bool? = nil) {
        self.id = id
        self.verb = verb
        self.hook = hook
        self.flow = flow
        self.chain = chain
        self.subflow = subflow
        self.backup = backup
    }

    public static let bind = "bind"
    public static let unbind = "unbind"
    public static let setPriority = "set_priority"
}

/// One line the daemon sends a controller: an event (`type` "event") or the reply to a command
/// (`type` "reply"). Keys absent when they do not apply.
public struct ControlLine: Codable, Sendable, Equatable {
    public var schema: Int = OutputSchema.version
    public var type: String
    /// Events: connection_created, connection_established, connection_closed,
    /// subflow_established, subflow_closed, subflow_priority, flow_metrics.
    public var event: String?
    /// The connection's token, 8 hex digits.
    public var token: String?
    /// "local:port-remote:port" from our side.
    public var subflow: String?
    public var backup: Bool?
    /// flow_metrics: one entry per flow the `record` actor counts (xdp: what arrives).
    public var flows: [FlowStats]?
    /// flow_metrics: every MPTCP subflow with its byte counters (sock_diag).
    public var subflows: [SubflowMetrics]?
    // Replies.
    public var id: Int64?
    public var ok: Bool?
    public var detail: String?
    public var error: String?

    public init(type: String) { self.type = type }

    public static func event(_ name: String, token: UInt32? = nil, subflow: String? = nil, backup: Bool? = nil) -> ControlLine {
        var line = ControlLine(type: "event")
        line.event = name
        line.token = token.map { MptcpPmEvent.hex($0) }
        line.subflow = subflow
        line.backup = backup
        return line
    }

    public static func reply(_ id: Int64, ok: Bool, _ text: String) -> ControlLine {
        var line = ControlLine(type: "reply")
        line.id = id
        line.ok = ok
        if ok { line.detail = text } else { line.error = text }
        return line
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The controller event a path manager event is, if any.
    public init?(_ e: MptcpPmEvent) {
        let subflow = e.subflow?.description
        switch e.kind {
        case .created: self = .event("connection_created", token: e.token, subflow: subflow)
        case .established: self = .event("connection_established", token: e.token, subflow: subflow)
        case .closed: self = .event("connection_closed", token: e.token)
        case .subEstablished: self = .event("subflow_established", token: e.token, subflow: subflow, backup: e.backup)
        case .subClosed: self = .event("subflow_closed", token: e.token, subflow: subflow)
        case .subPriority: self = .event("subflow_priority", token: e.token, subflow: subflow, backup: e.backup)
        default: return nil
        }
    }
}

/// One subflow's counters in flow_metrics, from the kernel's socket (sock_diag, struct tcp_info).
public struct SubflowMetrics: Codable, Sendable, Equatable {
    public var token: String
    public var subflow: String
    /// Bytes this host sent that the peer acknowledged; bytes received.
    public var bytesAcked: UInt64
    public var bytesReceived: UInt64
    /// The scheduler treats it as backup (the peer's MP_PRIO, or an injected one).
    public var backup: Bool

    enum CodingKeys: String, CodingKey {
        case token, subflow, bytesAcked = "bytes_acked", bytesReceived = "bytes_received", backup
    }

    public init(_ s: SubflowInfo) {
        token = MptcpPmEvent.hex(s.token)
        subflow = s.subflow.description
        bytesAcked = s.bytesAcked
        bytesReceived = s.bytesReceived
        backup = s.peerBackup
    }
}
