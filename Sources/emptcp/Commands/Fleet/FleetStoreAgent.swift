import EmptcpApply
import EmptcpFleet
import EmptcpStore
import Foundation

/// The follower's host side on the local store and data plane: a fleet revision becomes a local
/// revision (origin recorded, audited), applied through the same path as `emptcp commit` when
/// attached. A failed apply rolls the store back to the previous revision and re-applies it, so
/// the host keeps running what it ran. Used by one task at a time (the follow loop), which is
/// what makes sharing the store connection safe.
final class FleetStoreAgent: FleetHostAgent, @unchecked Sendable {
    let session: DataPlaneSession
    let store: PolicyStore
    let bpfDir: String?

    init(session: DataPlaneSession, store: PolicyStore, bpfDir: String?) {
        self.session = session
        self.store = store
        self.bpfDir = bpfDir
    }

    func restore() throws {
        let applier = session.applier(bpfDir: bpfDir)
        guard applier.isAttached() else { return }
        try session.applyCurrent(applier, store)
    }

    func state() throws -> FleetLocalState {
        let follow = try store.fleetFollowState()
        return FleetLocalState(fleetRevision: follow?.fleetRevision, fleetHash: follow?.fleetHash, appliedAt: follow?.updatedAt,
                               localHash: try store.currentRevision()?.contentHash)
    }

    func follow(_ revision: FleetRevision) throws {
        do {
            let (policy, _) = try PolicyFile.parse(revision.content, file: "fleet revision \(revision.id)")
            let previous = try store.currentRevision()
            let local = try store.commitFromFleet(policy, fleetRevision: revision.id, fleetHash: revision.contentHash,
                                                  message: "fleet revision \(revision.id)" + (revision.message.map { ": \($0)" } ?? ""))
            let applier = session.applier(bpfDir: bpfDir)
            if applier.isAttached() {
                do {
                    try session.applyCurrent(applier, store)
                } catch {
                    if let previous, previous.id != local.id {
                        _ = try? store.rollback(to: previous.id, message: "fleet revision \(revision.id) failed to apply; back to revision \(previous.id)")
                        _ = try? session.applyCurrent(applier, store)
                    }
                    throw error
                }
            }
            try store.recordFleetOutcome(fleetRevision: revision.id, fleetHash: revision.contentHash, error: nil)
        } catch {
            try? store.recordFleetOutcome(fleetRevision: revision.id, fleetHash: revision.contentHash, error: "\(error)")
            throw error
        }
    }
}
