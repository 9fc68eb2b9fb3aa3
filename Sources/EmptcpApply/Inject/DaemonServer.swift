import EmptcpStore
import Foundation
import Logging

/// One request on the daemon's socket: a JSON object on one line.
///   {"op":"recover-add-addr","flow":"10.0.2.2:5201-10.0.1.1:40000"}
///   {"op":"restore-prio","flow":"..."}
///   {"op":"flows"} | {"op":"connections"} | {"op":"repair"} | {"op":"subscribe","json":true}
public struct DaemonRequest: Codable, Sendable, Equatable {
    public var op: String
    public var flow: String?
    public var json: Bool?

    public init(op: String, flow: String? = nil, json: Bool? = nil) {
        self.op = op
        self.flow = flow
        self.json = json
    }

    public static let recoverAddAddr = "recover-add-addr"
    public static let restorePrio = "restore-prio"
    public static let listFlows = "flows"
    public static let listConnections = "connections"
    /// Carry out the live repairs an apply queued in the store.
    public static let repair = "repair"
    /// Stream every ring-buffer record as an `emptcp events` line until the client hangs up.
    public static let subscribe = "subscribe"
    /// Become a controller (docs/controllers.md): the line is a ControlHello.
    public static let control = "control"
    /// The runtime bindings controllers made.
    public static let listBindings = "bindings"
}

/// The daemon's answer: one JSON object on one line.
public struct DaemonReply: Codable, Sendable, Equatable {
    public var ok: Bool
    public var detail: String?
    public var error: String?
    public var flows: [FlowInjectionState]?
    public var connections: [TrackedConnection]?
    /// Runtime bindings controllers made (`bindings`), apart from the committed ones.
    public var bindings: [RuntimeBinding]?
    /// docs/json.md: every document carries the schema version.
    public var schema: Int = OutputSchema.version

    public init(ok: Bool, detail: String? = nil, error: String? = nil, flows: [FlowInjectionState]? = nil, connections: [TrackedConnection]? = nil,
                bindings: [RuntimeBinding]? = nil) {
        self.ok = ok
        self.detail = detail
        self.error = error
        self.flows = flows
        self.connections = connections
        self.bindings = bindings
    }

    public static func failure(_ message: String) -> DaemonReply { DaemonReply(ok: false, error: message) }
}

/// A connection the daemon tracks (store rows), for `connections`.
public struct TrackedConnection: Codable, Sendable, Equatable {
    public var token: String
    public var subflows: [String]
}

/// `emptcp daemon run` (emptcpd): the one consumer of the event ring buffer and of the MPTCP path
/// manager's events. It keeps the runtime state in the store (ConnectionTracker), carries out
/// the live repairs applies queue (LiveRepairEngine), fans the ring's records out to
/// `emptcp events` clients, and serves requests on a unix socket created mode 0600, checking
/// every connection's peer credentials (SO_PEERCRED): only uid 0 is served. A client has 2 s to
/// send its line; requests that inject are answered when the kernel's outcome is known.
public final class DaemonServer {
    public let pinRoot: String
    public let socketPath: String
    public let logger: Logger
    public let engine = InjectionEngine()
    let store: PolicyStore
    let tracker: ConnectionTracker
    let repairs: LiveRepairEngine
    public let controllers: ControllerHub
    /// What the loop counts, for `daemon run --metrics` (read from another thread).
    public let metrics: DaemonMetrics
    private var subscribers: [Subscriber] = []
    /// Called with every event, e.g. to print it.
    public var onEvent: ((EmptcpEvent) -> Void)?
    /// Called with every path manager event.
    public var onPathManagerEvent: ((MptcpPmEvent) -> Void)?

    /// - Parameter logDirectory: where a verifier rejection of the iterator is saved.
    public init(pinRoot: String, socketPath: String, store: PolicyStore, bpfDir: String, logDirectory: String, logger: Logger,
                sender: SegmentSender = RawSocketSender(), metrics: DaemonMetrics = DaemonMetrics()) throws {
        self.pinRoot = pinRoot
        self.metrics = metrics
        self.socketPath = socketPath
        self.logger = logger
        self.store = store
        try store.limitPageCache(kibibytes: 512)  // memory stays flat however long the audit trail grows
        tracker = ConnectionTracker(store: store, logger: logger)
        repairs = LiveRepairEngine(store: store, tcpState: try TcpStateReader(bpfDir: bpfDir, mapPins: PinLayout(root: pinRoot).maps, logDirectory: logDirectory), sender: sender, logger: logger,
                                   metrics: metrics)
        controllers = ControllerHub(store: store, repairs: repairs, pinRoot: pinRoot, logger: logger)
    }

    public static let defaultSocket = "/run/emptcp/daemon.sock"

    /// The socket path: env EMPTCP_DAEMON_SOCKET, else the default.
    public static func socketPath(environment: [String: String]) -> String {
        environment["EMPTCP_DAEMON_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSocket
    }

    /// Runs until SIGINT or SIGTERM; removes its socket on the way out.
    public func run() throws {
        let reader = try EventReader(pinRoot: pinRoot)
        let monitor = try MptcpEventMonitor()
        let stop = try StopSignal()
        let directory = (socketPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try Sys.makeDirectories(directory) }
        // Locked and checked: a second daemon, or a file that is not our stale socket, is refused.
        let exclusive = try Sys.unixListen(socketPath)
        let listener = exclusive.socket
        defer { Sys.removeSocket(socketPath, of: exclusive) }
        // Subscribed before the dump, so nothing that happens in between is missed.
        try tracker.resync()
        try repairs.runPending()
        controllers.reconcile()
        logger.info("daemon listening", metadata: ["socket.path": "\(socketPath)", "pin.root": "\(pinRoot)"])
        while true {
            let nextDeadline = [repairs.nextDeadlineNs, controllers.nextDeadlineNs].compactMap { $0 }.min()
            let timeout: Int32 = nextDeadline.map { deadline in
                let now = Sys.monotonicNanoseconds()
                return deadline <= now ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, 60_000))
            } ?? -1
            guard let ready = try stop.wait(for: [reader.pollDescriptor, monitor.pollDescriptor, listener.raw] + controllers.pollDescriptors, timeoutMs: timeout) else { break }
            if ready.contains(monitor.pollDescriptor) { try pathManagerEvents(monitor) }
            if ready.contains(reader.pollDescriptor) { try ringEvents(reader) }
            repairs.expire()
            for fd in controllers.pollDescriptors where ready.contains(fd) { controllers.readable(fd) }
            controllers.tick()
            if ready.contains(listener.raw), let client = try Sys.accept(listener, socketPath) {
                serve(client)
            }
            metrics.sessions(injectionsInFlight: repairs.inFlight, controllers: controllers.count, eventSubscribers: subscribers.count)
        }
        // Drain what is already there so nothing read from the ring is lost.
        try ringEvents(reader)
        logger.info("daemon stopped", metadata: ["events.unknown": "\(reader.unknownCount)", "repairs.in_flight": "\(repairs.inFlight)"])
    }

    private func ringEvents(_ reader: EventReader) throws {
        // Each record is handled before the ring's consumer position moves past it: a SIGKILL
        // at any point leaves the record in the ring or its effect in the store.
        var consumed = 0
        defer { metrics.events(ring: consumed) }
        try reader.consume { event in
            consumed += 1
            engine.observe(event)
            tracker.observe(event)
            onEvent?(event)
            if !subscribers.isEmpty { publish(event) }
        }
    }

    private func pathManagerEvents(_ monitor: MptcpEventMonitor) throws {
        let (events, overrun) = try monitor.read()
        metrics.events(pathManager: events.count)
        for event in events {
            tracker.observe(event)
            repairs.observe(event)
            controllers.observe(event)
            onPathManagerEvent?(event)
        }
        if overrun {
            logger.warning("path manager events were lost (socket buffer full); resynchronising from sock_diag")
            try tracker.resync()
            controllers.reconcile()
        }
    }

    // MARK: - Requests

    private func serve(_ client: Descriptor) {
        do {
            let peer = try Sys.peerCredentials(client, socketPath)
            guard peer.uid == 0 else {
                logger.warning("request refused: peer is not root", metadata: ["peer.uid": "\(peer.uid)", "peer.pid": "\(peer.pid)"])
                answer(client, .failure("refused: uid \(peer.uid) is not root"))
                return
            }
            Sys.setReceiveTimeout(client, seconds: 2)
            let line = try Sys.readLine(client, limit: 4096, socketPath)
            let request = try JSONDecoder().decode(DaemonRequest.self, from: Data(line))
            if request.op == DaemonRequest.subscribe {
                subscribers.append(try Subscriber(client, json: request.json ?? false, path: socketPath))
                logger.info("events subscriber", metadata: ["peer.pid": "\(peer.pid)", "subscribers": "\(subscribers.count)"])
                return
            }
            if request.op == DaemonRequest.control {
                try controllers.add(client, hello: try JSONDecoder().decode(ControlHello.self, from: Data(line)), peerPid: peer.pid)
                return
            }
            handle(request) { [logger] reply in
                logger.info("request", metadata: ["request.op": "\(request.op)", "request.flow": "\(request.flow ?? "-")",
                                                  "reply.ok": "\(reply.ok)", "peer.pid": "\(peer.pid)"])
                self.answer(client, reply)
            }
        } catch {
            answer(client, .failure("bad request: \(error)"))
        }
    }

    private func answer(_ client: Descriptor, _ reply: DaemonReply) {
        try? Sys.writeAll(client, Array((Self.encode(reply) + "\n").utf8), socketPath)
    }

    /// Executes one request; `reply` is called once, at once or when the injections it started
    /// have their outcome.
    public func handle(_ request: DaemonRequest, reply: @escaping (DaemonReply) -> Void) {
        switch request.op {
        case DaemonRequest.listFlows:
            let flows = engine.flows.values.sorted { $0.flow.description < $1.flow.description }
            reply(DaemonReply(ok: true, detail: "\(flows.count) flows", flows: flows))
        case DaemonRequest.listConnections:
            do {
                let tracked = try store.connections().sorted { $0.key < $1.key }
                    .map { TrackedConnection(token: MptcpPmEvent.hex($0.key), subflows: $0.value) }
                reply(DaemonReply(ok: true, detail: "\(tracked.count) connections", connections: tracked))
            } catch {
                reply(.failure("\(error)"))
            }
        case DaemonRequest.repair:
            do {
                let n = try repairs.runPending()
                controllers.reconcile()
                reply(DaemonReply(ok: true, detail: "\(n) live repairs started (outcomes in the audit trail)"))
            } catch {
                reply(.failure("live repair: \(error)"))
            }
        case DaemonRequest.listBindings:
            do {
                let bindings = try store.runtimeBindings()
                reply(DaemonReply(ok: true, detail: "\(bindings.count) runtime bindings", bindings: bindings))
            } catch {
                reply(.failure("\(error)"))
            }
        case DaemonRequest.recoverAddAddr, DaemonRequest.restorePrio:
            guard let text = request.flow, let flow = EventFlow(parsing: text) else {
                return reply(.failure("\(request.op) needs a flow ADDR:PORT-ADDR:PORT, got \(request.flow ?? "none")"))
            }
            let done: (Bool, String) -> Void = { ok, text in reply(ok ? DaemonReply(ok: true, detail: text) : .failure(text)) }
            if request.op == DaemonRequest.recoverAddAddr {
                repairs.redeliver(flow: flow, reply: done)
            } else {
                repairs.clearBackup(flow: flow, reply: done)
            }
        default:
            reply(.failure("unknown op \(request.op) (recover-add-addr, restore-prio, flows, connections, repair, subscribe, control, bindings)"))
        }
    }

    static func encode(_ reply: DaemonReply) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(reply), as: UTF8.self)) ?? "{\"ok\":false}"
    }

    // MARK: - Fan-out

    /// Writes the event's line to every subscriber; one that cannot keep up (its socket buffer
    /// is full) or has gone is dropped, so a slow reader never stalls the daemon.
    private func publish(_ event: EmptcpEvent) {
        let line = EventLine(event)
        subscribers.removeAll { s in
            let ok = Sys.writeWithoutBlocking(s.socket, Array(((s.json ? line.json : line.text) + "\n").utf8))
            if !ok { logger.info("events subscriber dropped (gone or too slow)") }
            return !ok
        }
    }

    private struct Subscriber {
        let socket: Descriptor
        let json: Bool
        init(_ socket: Descriptor, json: Bool, path: String) throws {
            try Sys.makeNonBlocking(socket, sendBuffer: 4 << 20, path)
            self.socket = socket
            self.json = json
        }
    }
}

/// The client side: one request, one reply.
public enum DaemonClient {
    public static func send(_ request: DaemonRequest, socketPath: String) throws -> DaemonReply {
        let socket = try connect(request, socketPath: socketPath)
        let line = try Sys.readLine(socket, limit: 1 << 20, socketPath)
        return try JSONDecoder().decode(DaemonReply.self, from: Data(line))
    }

    /// Connects and sends the request line; the caller reads what follows.
    static func connect(_ request: DaemonRequest, socketPath: String) throws -> Descriptor {
        Sys.ignoreSIGPIPE()
        let socket = try Sys.unixConnect(socketPath)
        Sys.setReceiveTimeout(socket, seconds: 10)
        let body = String(decoding: try JSONEncoder().encode(request), as: UTF8.self) + "\n"
        // A refusal is written before the daemon reads anything: the reader sees it even if
        // this write failed.
        try? Sys.writeAll(socket, Array(body.utf8), socketPath)
        return socket
    }

    /// True when a daemon answers on `socketPath`.
    public static func isRunning(socketPath: String) -> Bool {
        (try? Sys.unixConnect(socketPath)) != nil
    }
}

/// `emptcp events` through a running daemon: the daemon owns the ring buffer and sends every
/// record's line to each subscriber.
public final class EventSubscription {
    private let socket: Descriptor
    private let path: String
    private var pending: [UInt8] = []

    public init(socketPath: String, json: Bool) throws {
        socket = try DaemonClient.connect(DaemonRequest(op: DaemonRequest.subscribe, json: json), socketPath: socketPath)
        path = socketPath
        Sys.setReceiveTimeout(socket, seconds: 0)
    }

    public var pollDescriptor: Int32 { socket.raw }

    /// The complete lines received so far; nil when the daemon closed the stream.
    public func lines() throws -> [String]? {
        guard let chunk = try Sys.readAvailable(socket, path) else { return nil }
        pending += chunk
        var result: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            result.append(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
        return result
    }
}
