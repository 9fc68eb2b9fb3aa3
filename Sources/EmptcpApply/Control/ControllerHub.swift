import EmptcpStore
import Foundation
import Logging

/// The first line of a controller: `{"schema":1,"op":"control","name":"metered-link","metrics_ms":1000}`.
/// `metrics_ms` 0 or absent: no flow_metrics events.
public struct ControlHello: Codable, Sendable, Equatable {
    public var schema: Int = OutputSchema.version
    public var op: String = "control"
    public var name: String
    public var metricsMs: Int?

    enum CodingKeys: String, CodingKey { case schema, op, name, metricsMs = "metrics_ms" }

    public init(name: String, metricsMs: Int? = nil) {
        self.name = name
        self.metricsMs = metricsMs
    }
}

/// The daemon's controller sessions (docs/controllers.md): it streams path manager events and
/// the `record` actor's per-flow metrics to every controller, and carries out their verbs —
/// runtime bindings (kept in the store's `runtime_binding`, written into the kernel at once) and
/// subflow priority (an injected MP_PRIO, verified on SUB_PRIORITY). A reply says ok only once
/// the kernel holds the change. Single-threaded: the daemon's loop owns it.
public final class ControllerHub {
    let store: PolicyStore
    let repairs: LiveRepairEngine
    let writer: RuntimeBindingWriter
    let pinRoot: String
    let logger: Logger
    private var sessions: [Int32: Session] = [:]

    init(store: PolicyStore, repairs: LiveRepairEngine, pinRoot: String, logger: Logger) {
        self.store = store
        self.repairs = repairs
        self.writer = RuntimeBindingWriter(layout: PinLayout(root: pinRoot))
        self.pinRoot = pinRoot
        self.logger = logger
    }

    public var pollDescriptors: [Int32] { Array(sessions.keys) }
    public var count: Int { sessions.count }

    /// The nearest time a controller is due its metrics.
    public var nextDeadlineNs: UInt64? { sessions.values.compactMap(\.nextMetricsNs).min() }

    func add(_ socket: Descriptor, hello: ControlHello, peerPid: Int32) throws {
        try Sys.makeNonBlocking(socket, sendBuffer: 4 << 20, "controller \(hello.name)")
        let interval = UInt64(max(0, hello.metricsMs ?? 0)) * 1_000_000
        sessions[socket.raw] = Session(socket: socket, name: hello.name, metricsIntervalNs: interval,
                                       nextMetricsNs: interval > 0 ? Sys.monotonicNanoseconds() + interval : nil)
        logger.info("controller connected", metadata: ["controller": "\(hello.name)", "peer.pid": "\(peerPid)", "controllers": "\(sessions.count)"])
    }

    // MARK: - Events out

    /// Forwards a path manager event; a closed connection takes its runtime bindings with it.
    public func observe(_ event: MptcpPmEvent) {
        if event.kind == .closed { dropBindings(token: event.token, reason: "connection closed") }
        guard !sessions.isEmpty, let line = ControlLine(event) else { return }
        broadcast(line)
    }

    /// Sends flow_metrics to every controller that is due.
    public func tick() {
        let now = Sys.monotonicNanoseconds()
        let due = sessions.filter { ($0.value.nextMetricsNs ?? .max) <= now }
        guard !due.isEmpty else { return }
        var line = ControlLine.event("flow_metrics")
        line.flows = (try? StatsReader.read(pinRoot: pinRoot)) ?? []
        line.subflows = ((try? SubflowDiag.dump()) ?? []).map(SubflowMetrics.init).sorted { $0.subflow < $1.subflow }
        for (fd, s) in due {
            sessions[fd]?.nextMetricsNs = now + s.metricsIntervalNs
            send(line, to: fd)
        }
    }

    private func broadcast(_ line: ControlLine) {
        for fd in Array(sessions.keys) { send(line, to: fd) }
    }

    private func send(_ line: ControlLine, to fd: Int32) {
        guard let s = sessions[fd] else { return }
        if !Sys.writeWithoutBlocking(s.socket, Array((line.json + "\n").utf8)) {
            logger.info("controller dropped (gone or too slow)", metadata: ["controller": "\(s.name)"])
            sessions[fd] = nil
        }
    }

    // MARK: - Commands in

    /// Reads what a controller sent; a controller that hung up is forgotten (its runtime
    /// bindings stay until their connections close).
    public func readable(_ fd: Int32) {
        guard let s = sessions[fd] else { return }
        let chunk: [UInt8]?
        do { chunk = try Sys.readAvailable(s.socket, "controller \(s.name)") } catch { chunk = nil }
        guard let chunk else {
            logger.info("controller disconnected", metadata: ["controller": "\(s.name)"])
            sessions[fd] = nil
            return
        }
        var pending = s.pending + chunk
        var lines: [[UInt8]] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(Array(pending[..<newline]))
            pending.removeSubrange(...newline)
        }
        guard pending.count <= 65536 else {
            logger.warning("controller sent an over-long line; dropped", metadata: ["controller": "\(s.name)"])
            sessions[fd] = nil
            return
        }
        sessions[fd]?.pending = pending
        for line in lines where !line.isEmpty {
            guard let command = try? JSONDecoder().decode(ControlCommand.self, from: Data(line)) else {
                send(.reply(-1, ok: false, "bad command line: \(String(decoding: line.prefix(200), as: UTF8.self))"), to: fd)
                continue
            }
            execute(command, controller: s.name) { [weak self] reply in self?.send(reply, to: fd) }
        }
    }

    func execute(_ c: ControlCommand, controller: String, reply: @escaping (ControlLine) -> Void) {
        switch c.verb {
        case ControlCommand.bind:
            reply(bind(c, controller: controller))
        case ControlCommand.unbind:
            reply(unbind(c, controller: controller))
        case ControlCommand.setPriority:
            guard let text = c.subflow, let subflow = SubflowKey(parsing: text), let backup = c.backup else {
                return reply(.reply(c.id, ok: false, "set_priority needs subflow LOCAL:PORT-REMOTE:PORT and backup true|false"))
            }
            repairs.setPriority(subflow: subflow, backup: backup, controller: controller) { ok, text in reply(.reply(c.id, ok: ok, text)) }
        default:
            reply(.reply(c.id, ok: false, "unknown verb \(c.verb) (bind, unbind, set_priority)"))
        }
    }

    private func bind(_ c: ControlCommand, controller: String) -> ControlLine {
        guard let hook = c.hook, let flow = c.flow, let chain = c.chain, let key = RuntimeBindingWriter.key(hook: hook, flow: flow) else {
            return .reply(c.id, ok: false, "bind needs hook xdp|tc, flow LOCAL:PORT-REMOTE:PORT and chain")
        }
        do {
            guard let token = try token(of: key) else {
                return .reply(c.id, ok: false, "no tracked MPTCP connection has subflow \(flow)")
            }
            let binding = RuntimeBinding(hook: hook, flow: key.flowText, chain: chain, token: token, controller: controller)
            let policy = try store.currentRevision().map { try store.policy(at: $0.id) }
            if let refusal = RuntimeBindingWriter.refusal(binding, key: key, policy: policy) {
                return .reply(c.id, ok: false, refusal)
            }
            // Store first: a crash between the two leaves a row the next reconcile writes or drops.
            try store.recordRuntimeBinding(binding)
            do {
                try writer.install(key, chain: chain, policy: policy)
            } catch {
                try? store.forgetRuntimeBindings([binding], reason: "kernel write failed: \(error)")
                return .reply(c.id, ok: false, "\(error)")
            }
            return .reply(c.id, ok: true, "\(hook) \(key.flowText) bound to \(chain) (token \(MptcpPmEvent.hex(token))); the kernel holds it in both generations")
        } catch {
            return .reply(c.id, ok: false, "\(error)")
        }
    }

    private func unbind(_ c: ControlCommand, controller: String) -> ControlLine {
        guard let hook = c.hook, let flow = c.flow, let key = RuntimeBindingWriter.key(hook: hook, flow: flow) else {
            return .reply(c.id, ok: false, "unbind needs hook xdp|tc and flow LOCAL:PORT-REMOTE:PORT")
        }
        do {
            guard let b = try store.runtimeBindings().first(where: { $0.hook == hook && $0.flow == key.flowText }) else {
                return .reply(c.id, ok: false, "no runtime binding for \(hook) \(key.flowText)")
            }
            let policy = try store.currentRevision().map { try store.policy(at: $0.id) }
            try writer.remove(key, chain: b.chain, policy: policy)
            guard try !writer.holds(key, chain: b.chain, policy: policy) else { return .reply(c.id, ok: false, "the kernel still holds \(hook) \(key.flowText)") }
            try store.forgetRuntimeBindings([b], reason: "unbound by \(controller)")
            return .reply(c.id, ok: true, "\(hook) \(key.flowText) unbound from \(b.chain)")
        } catch {
            return .reply(c.id, ok: false, "\(error)")
        }
    }

    private func token(of key: BindingKey) throws -> UInt32? {
        let text = key.flowText
        return try store.connections().first { $0.value.contains(text) }?.key
    }

    // MARK: - Lifetime

    /// Removes the runtime bindings of a connection from the kernel and the store.
    func dropBindings(token: UInt32, reason: String) {
        do {
            let gone = try store.runtimeBindings().filter { $0.token == token }
            guard !gone.isEmpty else { return }
            let policy = try store.currentRevision().map { try store.policy(at: $0.id) }
            remove(gone, reason: reason, policy: policy)
        } catch {
            logger.error("runtime bindings: \(error)")
        }
    }

    /// - Parameter policy: the committed policy: the keys it binds keep their kernel entries (the
    ///   revision's), and it gives the chains' indexes.
    private func remove(_ bindings: [RuntimeBinding], reason: String, policy: Policy?) {
        guard !bindings.isEmpty else { return }
        let committed = Set(policy?.bindings.map(\.key) ?? [])
        for b in bindings {
            if let key = RuntimeBindingWriter.key(hook: b.hook, flow: b.flow), !committed.contains(key) { try? writer.remove(key, chain: b.chain, policy: policy) }
        }
        do { try store.forgetRuntimeBindings(bindings, reason: reason) } catch { logger.error("runtime bindings: \(error)") }
    }

    /// After an apply (or at start): bindings of connections no longer tracked, or whose chain
    /// the current revision no longer names (or now binds committed), are removed; the others
    /// are written again, since an apply rewrites each generation from the revision alone.
    public func reconcile() {
        do {
            let bindings = try store.runtimeBindings()
            guard !bindings.isEmpty else { return }
            let policy = try store.currentRevision().map { try store.policy(at: $0.id) }
            let tracked = try store.connections()
            var stale: [(RuntimeBinding, String)] = []
            for b in bindings {
                guard let key = RuntimeBindingWriter.key(hook: b.hook, flow: b.flow) else { stale.append((b, "unparsable")); continue }
                if tracked[b.token] == nil { stale.append((b, "connection closed")); continue }
                if let why = RuntimeBindingWriter.refusal(b, key: key, policy: policy) { stale.append((b, "revision: \(why)")); continue }
                do { try writer.install(key, chain: b.chain, policy: policy) } catch { stale.append((b, "kernel write failed: \(error)")) }
            }
            for (b, why) in stale { remove([b], reason: why, policy: policy) }
        } catch {
            logger.error("runtime bindings reconcile: \(error)")
        }
    }

    struct Session {
        let socket: Descriptor
        let name: String
        let metricsIntervalNs: UInt64
        var nextMetricsNs: UInt64?
        var pending: [UInt8] = []
    }
}

extension BindingKey {
    /// "local:port-remote:port", the form of runtime_subflow and of controller flows.
    var flowText: String {
        guard let local, let localPort, let remote, let remotePort else { return description }
        return SubflowKey(local: local, localPort: localPort, remote: remote, remotePort: remotePort).description
    }
}
