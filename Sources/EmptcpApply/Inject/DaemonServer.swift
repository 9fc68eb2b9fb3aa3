import EmptcpStore
import Foundation
import Logging

/// One request on the daemon's socket: a JSON object on one line.
///   {"op":"recover-add-addr","flow":"10.0.2.2:5201-10.0.1.1:40000"}
///   {"op":"restore-prio","flow":"..."}
///   {"op":"flows"}
public struct DaemonRequest: Codable, Sendable, Equatable {
    public var op: String
    public var flow: String?

    public init(op: String, flow: String? = nil) {
        self.op = op
        self.flow = flow
    }

    public static let recoverAddAddr = "recover-add-addr"
    public static let restorePrio = "restore-prio"
    public static let listFlows = "flows"
}

/// The daemon's answer: one JSON object on one line.
public struct DaemonReply: Codable, Sendable, Equatable {
    public var ok: Bool
    public var detail: String?
    public var error: String?
    public var flows: [FlowInjectionState]?
    /// docs/json.md: every document carries the schema version.
    public var schema: Int = OutputSchema.version

    public init(ok: Bool, detail: String? = nil, error: String? = nil, flows: [FlowInjectionState]? = nil) {
        self.ok = ok
        self.detail = detail
        self.error = error
        self.flows = flows
    }

    public static func failure(_ message: String) -> DaemonReply { DaemonReply(ok: false, detail: nil, error: message, flows: nil) }
}

/// `emptcp daemon` (emptcpd): reads the event ring buffer into the injection engine and serves
/// requests on a unix socket. The socket is created mode 0600 and every connection's peer
/// credentials (SO_PEERCRED) are checked: only uid 0 is served. One request per connection,
/// answered at once; a client has 2 s to send its line.
public final class DaemonServer {
    public let pinRoot: String
    public let socketPath: String
    public let logger: Logger
    public let engine: InjectionEngine
    /// Called with every event, e.g. to print it (the daemon is then the ring's only reader).
    public var onEvent: ((EmptcpEvent) -> Void)?

    public init(pinRoot: String, socketPath: String, logger: Logger, sender: SegmentSender = RawSocketSender()) {
        self.pinRoot = pinRoot
        self.socketPath = socketPath
        self.logger = logger
        self.engine = InjectionEngine(sender: sender)
    }

    public static let defaultSocket = "/run/emptcp/daemon.sock"

    /// Runs until SIGINT or SIGTERM; removes its socket on the way out.
    public func run() throws {
        let reader = try EventReader(pinRoot: pinRoot)
        let stop = try StopSignal()
        let directory = (socketPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try Sys.makeDirectories(directory) }
        // Locked and checked: a second daemon, or a file that is not our stale socket, is refused.
        let exclusive = try Sys.unixListen(socketPath)
        let listener = exclusive.socket
        defer { Sys.removeSocket(socketPath, of: exclusive) }
        logger.info("daemon listening", metadata: ["socket.path": "\(socketPath)", "pin.root": "\(pinRoot)"])
        while let ready = try stop.wait(for: [reader.pollDescriptor, listener.raw]) {
            if ready.contains(reader.pollDescriptor) {
                for event in try reader.read() {
                    engine.observe(event)
                    onEvent?(event)
                }
            }
            if ready.contains(listener.raw), let client = try Sys.accept(listener, socketPath) {
                serve(client)
            }
        }
        // Drain what is already there so a request sent just before the signal is not lost.
        for event in try reader.read() { engine.observe(event); onEvent?(event) }
        logger.info("daemon stopped", metadata: ["events.unknown": "\(reader.unknownCount)"])
    }

    private func serve(_ client: Descriptor) {
        let reply: DaemonReply
        do {
            let peer = try Sys.peerCredentials(client, socketPath)
            guard peer.uid == 0 else {
                logger.warning("request refused: peer is not root", metadata: ["peer.uid": "\(peer.uid)", "peer.pid": "\(peer.pid)"])
                try? Sys.writeAll(client, Array((encode(.failure("refused: uid \(peer.uid) is not root")) + "\n").utf8), socketPath)
                return
            }
            Sys.setReceiveTimeout(client, seconds: 2)
            let line = try Sys.readLine(client, limit: 4096, socketPath)
            let request = try JSONDecoder().decode(DaemonRequest.self, from: Data(line))
            reply = handle(request)
            logger.info("request", metadata: ["request.op": "\(request.op)", "request.flow": "\(request.flow ?? "-")",
                                              "reply.ok": "\(reply.ok)", "peer.pid": "\(peer.pid)"])
        } catch {
            reply = .failure("bad request: \(error)")
        }
        try? Sys.writeAll(client, Array((encode(reply) + "\n").utf8), socketPath)
    }

    /// Executes one request against the engine.
    public func handle(_ request: DaemonRequest) -> DaemonReply {
        switch request.op {
        case DaemonRequest.listFlows:
            let flows = engine.flows.values.sorted { $0.flow.description < $1.flow.description }
            return DaemonReply(ok: true, detail: "\(flows.count) flows", error: nil, flows: flows)
        case DaemonRequest.recoverAddAddr, DaemonRequest.restorePrio:
            guard let text = request.flow, let flow = EventFlow(parsing: text) else {
                return .failure("\(request.op) needs a flow ADDR:PORT-ADDR:PORT, got \(request.flow ?? "none")")
            }
            do {
                if request.op == DaemonRequest.recoverAddAddr {
                    let sent = try engine.recoverAddAddr(flow: flow)
                    let ids = sent.compactMap { $0.options.count > 3 ? String($0.options[3]) : nil }.joined(separator: ",")
                    return DaemonReply(ok: true, detail: "re-delivered \(sent.count) ADD_ADDR (address id \(ids)) on \(sent[0].flow)",
                                       error: nil, flows: nil)
                }
                let segment = try engine.restorePriority(flow: flow)
                return DaemonReply(ok: true, detail: "delivered MP_PRIO B=0 on \(segment.flow)", error: nil, flows: nil)
            } catch {
                return .failure("\(error)")
            }
        default:
            return .failure("unknown op \(request.op) (recover-add-addr, restore-prio, flows)")
        }
    }

    private func encode(_ reply: DaemonReply) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(reply), as: UTF8.self)) ?? "{\"ok\":false}"
    }
}

/// The client side: one request, one reply.
public enum DaemonClient {
    public static func send(_ request: DaemonRequest, socketPath: String) throws -> DaemonReply {
        Sys.ignoreSIGPIPE()
        let socket = try Sys.unixConnect(socketPath)
        Sys.setReceiveTimeout(socket, seconds: 10)
        let body = String(decoding: try JSONEncoder().encode(request), as: UTF8.self) + "\n"
        var writeError: Error?
        do { try Sys.writeAll(socket, Array(body.utf8), socketPath) } catch { writeError = error }
        // A refusal is written before the daemon reads anything: read it even if our write failed.
        let line = try Sys.readLine(socket, limit: 1 << 20, socketPath)
        if line.isEmpty, let writeError { throw writeError }
        return try JSONDecoder().decode(DaemonReply.self, from: Data(line))
    }
}
