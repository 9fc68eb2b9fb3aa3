import EmptcpApply
import Foundation

/// A connection to the daemon as a controller: the event sequence (`events`) and the verbs.
/// One reader thread turns the daemon's lines into events and replies; verbs wait for the reply
/// carrying their id.
public actor ControlClient {
    public nonisolated let name: String
    public nonisolated let events: AsyncThrowingStream<ControlEvent, Error>
    private let connection: ControlConnection
    private var nextID: Int64 = 1
    private var waiting: [Int64: CheckedContinuation<String, Error>] = [:]
    private var closed = false

    /// Connects to the daemon (`socketPath`, default: env EMPTCP_DAEMON_SOCKET, else
    /// /run/emptcp/daemon.sock) as controller `name`; `metricsMs` > 0 asks for flow_metrics.
    public init(name: String, metricsMs: Int = 0, socketPath: String? = nil) throws {
        let path = socketPath ?? DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)
        let connection = try ControlConnection(socketPath: path, hello: ControlHello(name: name, metricsMs: metricsMs))
        self.name = name
        self.connection = connection
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ControlEvent.self, throwing: Error.self)
        events = stream
        let reader = Thread { [weak self] in
            do {
                while let lines = try connection.lines() {
                    for line in lines {
                        if line.type == "reply", let id = line.id {
                            let result: Result<String, Error> = line.ok == true ? .success(line.detail ?? "") : .failure(ControlError(message: line.error ?? "refused"))
                            Task { await self?.resolve(id, result) }
                        } else if let event = ControlEvent(line) {
                            continuation.yield(event)
                        }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
            Task { await self?.failAll(ControlError(message: "the daemon closed the connection")) }
        }
        reader.start()
    }

    // MARK: verbs

    /// Binds the flow (our side: local:port-remote:port) on `hook` ("xdp" or "tc") to a chain
    /// of the committed policy. Returns the daemon's detail once the kernel holds it.
    @discardableResult
    public func bind(hook: String, flow: SubflowKey, chain: String) async throws -> String {
        try await call(ControlCommand(id: 0, verb: ControlCommand.bind, hook: hook, flow: flow.description, chain: chain))
    }

    @discardableResult
    public func unbind(hook: String, flow: SubflowKey) async throws -> String {
        try await call(ControlCommand(id: 0, verb: ControlCommand.unbind, hook: hook, flow: flow.description))
    }

    /// Marks the subflow backup (true) or regular (false) for this host's scheduler; returns
    /// once the kernel reported the new priority.
    @discardableResult
    public func setPriority(subflow: SubflowKey, backup: Bool) async throws -> String {
        try await call(ControlCommand(id: 0, verb: ControlCommand.setPriority, subflow: subflow.description, backup: backup))
    }

    private func call(_ command: ControlCommand) async throws -> String {
        if closed { throw ControlError(message: "the daemon closed the connection") }
        var c = command
        c.id = nextID
        nextID += 1
        let id = c.id
        return try await withCheckedThrowingContinuation { continuation in
            waiting[id] = continuation
            do {
                try connection.send(c)
            } catch {
                waiting[id] = nil
                continuation.resume(throwing: error)
            }
        }
    }

    private func resolve(_ id: Int64, _ result: Result<String, Error>) {
        waiting.removeValue(forKey: id)?.resume(with: result)
    }

    private func failAll(_ error: ControlError) {
        closed = true
        for (_, c) in waiting { c.resume(throwing: error) }
        waiting = [:]
    }

    // MARK: running a controller

    /// Calls the controller's callbacks for every event until the daemon hangs up.
    public nonisolated func run(_ controller: some Controller) async throws {
        for try await event in events {
            switch event {
            case .connectionCreated(let token, let subflow): await controller.connectionCreated(self, token: token, subflow: subflow)
            case .connectionEstablished(let token, let subflow): await controller.connectionEstablished(self, token: token, subflow: subflow)
            case .connectionClosed(let token): await controller.connectionClosed(self, token: token)
            case .subflowEstablished(let token, let subflow, let backup): await controller.subflowEstablished(self, token: token, subflow: subflow, backup: backup)
            case .subflowClosed(let token, let subflow): await controller.subflowClosed(self, token: token, subflow: subflow)
            case .subflowPriority(let token, let subflow, let backup): await controller.subflowPriority(self, token: token, subflow: subflow, backup: backup)
            case .flowMetrics(let flows, let subflows): await controller.flowMetrics(self, flows: flows, subflows: subflows)
            }
        }
    }
}
