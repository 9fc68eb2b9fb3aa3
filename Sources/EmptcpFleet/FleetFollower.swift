import Foundation
import Logging
import PostgresNIO

/// What a following host knows of itself, from its own store.
public struct FleetLocalState: Sendable, Hashable {
    /// The last fleet revision applied here and its content hash.
    public var fleetRevision: Int64?
    public var fleetHash: String?
    public var appliedAt: Date?
    /// The content hash of the host's current local revision.
    public var localHash: String?

    public init(fleetRevision: Int64?, fleetHash: String?, appliedAt: Date?, localHash: String?) {
        self.fleetRevision = fleetRevision
        self.fleetHash = fleetHash
        self.appliedAt = appliedAt
        self.localHash = localHash
    }
}

/// The host side of following: the local store and the data plane. Called from one task at a
/// time, so an implementation may hold a store connection.
public protocol FleetHostAgent: Sendable {
    /// Puts the local current revision back into the kernel (after a crash mid-apply).
    func restore() throws
    func state() throws -> FleetLocalState
    /// Commits `revision` into the local store and applies it. On failure the host keeps (and
    /// runs) its previous revision and the error is thrown.
    func follow(_ revision: FleetRevision) throws
}

/// The follow loop: connect, LISTEN, catch up to the newest fleet revision, then wait for a
/// notification or the heartbeat; report into the host row after each step. When the centre is
/// unreachable the host keeps running what its own store holds and reconnects with backoff
/// (0.2 s doubling to `maxBackoff`), catching up on reconnect.
public struct FleetFollower: Sendable {
    public var url: FleetURL
    public var hostID: String
    public var labels: [String: String]
    public var heartbeat: Duration
    public var maxBackoff: Duration
    public var agent: any FleetHostAgent
    public var logger: Logger

    public static let channel = "emptcp_fleet"

    public init(url: FleetURL, hostID: String, labels: [String: String], heartbeat: Duration, maxBackoff: Duration = .seconds(5),
                agent: any FleetHostAgent, logger: Logger) {
        self.url = url
        self.hostID = hostID
        self.labels = labels
        self.heartbeat = heartbeat
        self.maxBackoff = maxBackoff
        self.agent = agent
        self.logger = logger
    }

    /// Runs until the task is cancelled.
    public func run() async {
        do {
            try agent.restore()
        } catch {
            logger.error("could not restore the local revision: \(error)")
        }
        var delay: Duration = .milliseconds(200)
        while !Task.isCancelled {
            do {
                let conn = try await FleetConnection.open(url, logger: logger)
                delay = .milliseconds(200)
                logger.info("connected to the fleet \(url)")
                do {
                    try await follow(on: conn)
                } catch {
                    try? await conn.close()
                    throw error
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("fleet: \((error as? FleetError)?.description ?? FleetDatabase.message(error)); retrying in \(delay)")
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, maxBackoff)
            }
        }
    }

    private func follow(on conn: PostgresConnection) async throws {
        try await FleetSchema.require(conn, logger: logger)
        let repo = FleetRepository(conn: conn, logger: logger)
        // LISTEN first, then catch up: a commit between the two is seen either way.
        try await FleetDatabase.run {
            try await conn.listen(on: Self.channel) { notifications in
                let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await _ in notifications { wake.yield() }
                        throw FleetError.database("the fleet connection closed")
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: heartbeat)
                            wake.yield()
                        }
                    }
                    group.addTask {
                        var failed: (revision: Int64, message: String)?
                        try await sync(repo, failed: &failed)
                        for await _ in wakeups { try await sync(repo, failed: &failed) }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// One step: apply the newest fleet revision if this host has not, then report.
    private func sync(_ repo: FleetRepository, failed: inout (revision: Int64, message: String)?) async throws {
        var state = try agent.state()
        var event: String?
        if let head = try await repo.head(), head.id != state.fleetRevision, head.id != failed?.revision {
            do {
                try agent.follow(head)
                failed = nil
                event = "applied fleet revision \(head.id)"
            } catch {
                let message = "\(error)"
                failed = (head.id, message)
                event = "fleet revision \(head.id) failed: \(message)"
                logger.error("\(event!)")
            }
            state = try agent.state()
        }
        try await repo.report(FleetHostReport(
            hostID: hostID, labels: labels, revision: state.fleetRevision, contentHash: state.localHash, appliedAt: state.appliedAt,
            inSync: state.fleetHash != nil && state.localHash == state.fleetHash,
            error: failed?.message, errorRevision: failed?.revision, event: event))
    }
}
