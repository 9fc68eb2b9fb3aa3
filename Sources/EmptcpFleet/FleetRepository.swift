import EmptcpStore
import Foundation
import Logging
import PostgresNIO

/// Reads and writes of the fleet database on one connection. Writers serialise on an advisory
/// lock, so two `fleet commit`s never both take the next id (and `parent` is UNIQUE besides).
public struct FleetRepository: Sendable {
    public let conn: PostgresConnection
    public let logger: Logger
    /// Recorded as `client_host` on revisions and audit rows.
    public let clientHost: String

    public init(conn: PostgresConnection, logger: Logger, clientHost: String = ProcessInfo.processInfo.hostName) {
        self.conn = conn
        self.logger = logger
        self.clientHost = clientHost
    }

    /// The advisory lock key of fleet commits.
    static let commitLock: Int64 = 0x656d_7074_6370_01

    static let revisionColumns = "id, parent, created_at, author, client_host, message, action, rollback_to, content_hash, binding_count, content"

    private static func decode(_ rows: PostgresRowSequence) async throws -> [FleetRevision] {
        var out: [FleetRevision] = []
        for try await (id, parent, at, author, client, message, action, rollbackTo, hash, count, content) in rows.decode(
            (Int64, Int64?, Date, String, String, String?, String, Int64?, String, Int32, String).self)
        {
            out.append(FleetRevision(id: id, parent: parent, createdAt: at, author: author, clientHost: client, message: message, action: action,
                                     rollbackTo: rollbackTo, contentHash: hash, bindingCount: Int(count), content: content))
        }
        return out
    }

    /// The newest revision, nil before the first commit.
    public func head() async throws -> FleetRevision? {
        try await FleetDatabase.run {
            try await Self.decode(try await conn.query("SELECT \(unescaped: Self.revisionColumns) FROM fleet_revision ORDER BY id DESC LIMIT 1", logger: logger)).first
        }
    }

    public func revision(_ id: Int64) async throws -> FleetRevision {
        let found = try await FleetDatabase.run {
            try await Self.decode(try await conn.query("SELECT \(unescaped: Self.revisionColumns) FROM fleet_revision WHERE id = \(id)", logger: logger)).first
        }
        guard let found else { throw FleetError.revisionNotFound(id) }
        return found
    }

    /// Newest first.
    public func log(limit: Int?) async throws -> [FleetRevision] {
        try await FleetDatabase.run {
            try await Self.decode(try await conn.query(
                "SELECT \(unescaped: Self.revisionColumns) FROM fleet_revision ORDER BY id DESC LIMIT \(Int64(limit ?? Int(Int32.max)))", logger: logger))
        }
    }

    /// Stores `policy` (validated by the caller) as the next revision. Identical content to the
    /// head is refused. Audited, and so is a refusal.
    public func commit(_ policy: Policy, message: String?, action: String = "commit", rollbackTo: Int64? = nil) async throws -> FleetRevision {
        let content = PolicyFile.renderJSON(policy)
        let hash = policy.contentHash
        let count = Int32(policy.bindings.count)
        do {
            let rev = try await FleetDatabase.run {
                try await conn.withTransaction(logger: logger) { tx -> FleetRevision in
                    // An advisory lock, not LOCK TABLE: that would need UPDATE rights the writer lacks.
                    try await tx.query("SELECT pg_advisory_xact_lock(\(Self.commitLock))", logger: logger)
                    let head = try await Self.decode(try await tx.query("SELECT \(unescaped: Self.revisionColumns) FROM fleet_revision ORDER BY id DESC LIMIT 1", logger: logger)).first
                    if let head, head.contentHash == hash { throw FleetError.identical(revision: head.id) }
                    let id = (head?.id ?? 0) + 1
                    let rows = try await tx.query("""
                        INSERT INTO fleet_revision (id, parent, client_host, message, action, rollback_to, content_hash, binding_count, content)
                        VALUES (\(id), \(head?.id), \(clientHost), \(message), \(action), \(rollbackTo), \(hash), \(count), \(content))
                        RETURNING \(unescaped: Self.revisionColumns)
                        """, logger: logger)
                    guard let rev = try await Self.decode(rows).first else { throw FleetError.database("insert returned no row") }
                    let detail = action == "rollback"
                        ? "fleet revision \(id) restores fleet revision \(rollbackTo.map(String.init) ?? "empty") (\(count) bindings)"
                        : "fleet revision \(id): \(count) bindings\(message.map { "; \($0)" } ?? "")"
                    try await tx.query("""
                        INSERT INTO fleet_audit (client_host, action, revision, outcome, detail)
                        VALUES (\(clientHost), \(action), \(id), 'ok', \(detail))
                        """, logger: logger)
                    return rev
                }
            }
            return rev
        } catch {
            await auditFailure(action: action, revision: rollbackTo, error: error)
            throw error
        }
    }

    /// A new revision equal to `target` (default: the head's parent).
    public func rollback(to target: Int64?, message: String?) async throws -> FleetRevision {
        do {
            guard let head = try await head(), let targetID = target ?? head.parent else { throw FleetError.nothingToRollBack }
            let t = try await revision(targetID)
            let (policy, _) = try PolicyFile.parse(t.content, file: "fleet revision \(t.id)")
            return try await commit(policy, message: message ?? "rollback to fleet revision \(targetID)", action: "rollback", rollbackTo: targetID)
        } catch let e as FleetError {
            if case .identical = e {} else if case .database = e {} else { await auditFailure(action: "rollback", revision: target, error: e) }
            throw e
        }
    }

    /// Records a refused or failed attempt; best effort (the caller's error is what matters).
    public func auditFailure(action: String, revision: Int64?, error: Error) async {
        let outcome: String
        switch error as? FleetError {
        case .identical?, .nothingToRollBack?: outcome = "refused"
        default: outcome = "failed"
        }
        let detail = "\(error)"
        do {
            try await conn.query("""
                INSERT INTO fleet_audit (client_host, action, revision, outcome, detail)
                VALUES (\(clientHost), \(action), \(revision), \(outcome), \(detail))
                """, logger: logger)
        } catch {
            logger.warning("could not audit failed fleet \(action): \(FleetDatabase.message(error))")
        }
    }

    /// Every host, by id.
    public func hosts() async throws -> [FleetHost] {
        try await FleetDatabase.run {
            let rows = try await conn.query("""
                SELECT host_id, owner::text, labels::text, revision, content_hash, applied_at, in_sync, last_seen, error, error_revision
                FROM fleet_host ORDER BY host_id
                """, logger: logger)
            var out: [FleetHost] = []
            for try await (id, owner, labels, rev, hash, appliedAt, inSync, lastSeen, error, errorRev) in rows.decode(
                (String, String, String, Int64?, String?, Date?, Bool, Date, String?, Int64?).self)
            {
                let decoded = (try? JSONDecoder().decode([String: String].self, from: Data(labels.utf8))) ?? [:]
                out.append(FleetHost(hostID: id, owner: owner, labels: decoded, revision: rev, contentHash: hash, appliedAt: appliedAt,
                                     inSync: inSync, lastSeen: lastSeen, error: error, errorRevision: errorRev))
            }
            return out
        }
    }

    /// A follower's report of its own row (through fleet_report(): the only write a follower may make).
    public func report(_ r: FleetHostReport) async throws {
        let labels = String(decoding: try JSONEncoder().encode(r.labels), as: UTF8.self)
        let outcome = r.error == nil ? "ok" : "failed"
        _ = try await FleetDatabase.run {
            try await conn.query("""
                SELECT fleet_report(\(r.hostID), \(labels)::jsonb, \(r.revision), \(r.contentHash), \(r.appliedAt), \(r.inSync),
                                    \(r.error), \(r.errorRevision), \(clientHost), \(r.event), \(outcome))
                """, logger: logger)
        }
    }
}
