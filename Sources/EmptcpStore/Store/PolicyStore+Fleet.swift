import Foundation

/// What a host that follows a fleet (`emptcp fleet follow`) keeps in its own store: whether it
/// follows, the last fleet revision it applied, and which local revisions came from the fleet.
/// The local store stays the host's source for boot restore and audit when the fleet is away.
public struct FleetFollowState: Codable, Sendable, Hashable {
    public var hostID: String
    /// The last fleet revision this host applied; nil before the first.
    public var fleetRevision: Int64?
    public var fleetHash: String?
    public var updatedAt: Date
}

/// The fleet revision a local revision carries.
public struct RevisionOrigin: Codable, Sendable, Hashable {
    public var revision: Int64
    public var fleetRevision: Int64
    public var fleetHash: String
}

extension PolicyStore {
    /// The follow state, or nil when this host follows no fleet.
    public func fleetFollowState() throws -> FleetFollowState? {
        try db.prepare("SELECT host_id, fleet_revision, fleet_hash, updated_at FROM fleet_follow WHERE id = 1").rows([]) {
            FleetFollowState(hostID: $0.text(0), fleetRevision: $0.int64OrNil(1), fleetHash: $0.textOrNil(2), updatedAt: Date(millis: $0.int64(3)))
        }.first
    }

    /// Marks this host as following a fleet under `hostID` (keeps the last applied fleet revision).
    public func startFollowing(hostID: String) throws {
        try write("follow") {
            try db.prepare("""
                INSERT INTO fleet_follow (id, host_id, updated_at) VALUES (1, ?1, ?2)
                ON CONFLICT (id) DO UPDATE SET host_id = ?1, updated_at = ?2
                """).run([.text(hostID), .int(Date().millis)])
            try insertAudit(action: "fleet-follow", revision: nil, outcome: .ok, detail: "following the fleet as host \(hostID)")
        }
    }

    /// Ends following: local commits are accepted again.
    public func stopFollowing() throws {
        try write("unfollow") {
            try db.prepare("DELETE FROM fleet_follow").run([])
            try insertAudit(action: "fleet-unfollow", revision: nil, outcome: .ok, detail: "no longer following a fleet")
        }
    }

    /// The fleet origin of local revision `id`, nil for a revision made on this host.
    public func origin(of id: Int64) throws -> RevisionOrigin? {
        try db.prepare("SELECT revision, fleet_revision, fleet_hash FROM revision_origin WHERE revision = ?").rows([.int(id)]) {
            RevisionOrigin(revision: $0.int64(0), fleetRevision: $0.int64(1), fleetHash: $0.text(2))
        }.first
    }

    /// Commits the content of fleet revision `fleetRevision` as a local revision whose origin is
    /// that fleet revision, validated like any local commit (against this host's modules).
    /// Content equal to the current revision makes no new revision: the current one is returned
    /// (it already runs that content). Audited as `fleet-commit`.
    public func commitFromFleet(_ policy: Policy, fleetRevision: Int64, fleetHash: String, message: String?) throws -> Revision {
        do {
            return try write("fleet-commit") {
                let rev: Revision
                do {
                    rev = try commitLocked(policy, message: message, sourceMap: SourceMap(file: "fleet revision \(fleetRevision)"), confirmWithin: nil)
                } catch StoreError.identical(let id) {
                    return try revision(id)
                }
                try db.prepare("INSERT INTO revision_origin (revision, fleet_revision, fleet_hash) VALUES (?, ?, ?)")
                    .run([.int(rev.id), .int(fleetRevision), .text(fleetHash)])
                try insertAudit(action: "fleet-commit", revision: rev.id, outcome: .ok,
                                detail: "revision \(rev.id) carries fleet revision \(fleetRevision) (\(fleetHash.prefix(12)))")
                return rev
            }
        } catch {
            auditFailure(action: "fleet-commit", revision: nil, error: error)
            throw error
        }
    }

    /// Records that fleet revision `fleetRevision` is applied on this host (or, with `error`, that
    /// applying it failed and the previous one stays).
    public func recordFleetOutcome(fleetRevision: Int64, fleetHash: String, error: String?) throws {
        try write("fleet-apply") {
            if let error {
                try insertAudit(action: "fleet-apply", revision: nil, outcome: .failed, detail: "fleet revision \(fleetRevision): \(error)")
                return
            }
            try db.prepare("UPDATE fleet_follow SET fleet_revision = ?, fleet_hash = ?, updated_at = ? WHERE id = 1")
                .run([.int(fleetRevision), .text(fleetHash), .int(Date().millis)])
            try insertAudit(action: "fleet-apply", revision: try currentRevision()?.id, outcome: .ok, detail: "fleet revision \(fleetRevision) applied")
        }
    }
}
