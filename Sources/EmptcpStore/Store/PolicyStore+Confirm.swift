import Foundation

/// `commit --confirm SECONDS`: the new revision stays only if `confirm()` is called before the
/// deadline. Expiry is enforced twice, so it happens even if a process dies: the CLI spawns a
/// detached timer (`emptcp confirm --expire-after`) that opens the store at the deadline, and
/// every store open rolls back an expired pending commit first (`expirePendingConfirmation`).
/// A later commit or rollback settles the pending one (an implicit confirmation); a later commit
/// with `--confirm` keeps the original fall-back revision, so expiry returns to the last
/// confirmed state.
extension PolicyStore {
    public func pendingConfirmation() throws -> PendingConfirmation? {
        try db.prepare("SELECT revision, previous, deadline FROM pending_confirm ORDER BY revision DESC LIMIT 1").rows([]) {
            PendingConfirmation(revision: $0.int64(0), previous: $0.int64OrNil(1), deadline: Date(millis: $0.int64(2)))
        }.first
    }

    /// Commits a policy file that rolls back by itself unless confirmed within `seconds`.
    public func commit(_ policy: Policy, message: String?, confirmWithin seconds: TimeInterval) throws -> Revision {
        try commit(policy, message: message, sourceMap: SourceMap(), confirmWithin: seconds)
    }

    /// Keeps the pending revision. Throws `noPendingConfirmation` when none waits (or it expired).
    @discardableResult
    public func confirm() throws -> PendingConfirmation {
        _ = try expirePendingConfirmation()
        do {
            return try write("confirm") {
                guard let p = try pendingConfirmation() else { throw StoreError.noPendingConfirmation }
                try db.prepare("DELETE FROM pending_confirm WHERE revision = ?").run([.int(p.revision)])
                try insertAudit(action: "confirm", revision: p.revision, outcome: .ok, detail: "revision \(p.revision) confirmed")
                return p
            }
        } catch {
            auditFailure(action: "confirm", revision: nil, error: error)
            throw error
        }
    }

    /// Rolls back a pending commit whose deadline has passed; returns the revisions created.
    @discardableResult
    public func expirePendingConfirmation(now: Date = Date()) throws -> [Revision] {
        guard let p = try pendingConfirmation(), p.deadline <= now else { return [] }
        return try write("confirm-expired") {
            // Check again under the write lock: another process may have expired or confirmed it.
            guard let p = try pendingConfirmation(), p.deadline <= now else { return [] }
            try db.prepare("DELETE FROM pending_confirm WHERE revision = ?").run([.int(p.revision)])
            guard let head = try currentRevision() else { return [] }
            let when = ISO8601DateFormatter().string(from: p.deadline)
            let message = "automatic rollback: revision \(p.revision) was not confirmed by \(when)"
            do {
                let rev = try restoreLocked(head: head, target: p.previous, message: message)
                try insertAudit(action: "confirm-expired", revision: rev.id, outcome: .ok, detail: message + "; revision \(rev.id) restores \(p.previous.map { "revision \($0)" } ?? "the empty policy")")
                logger.notice("pending commit expired", metadata: ["store.revision": "\(p.revision)", "store.restored": "\(rev.id)"])
                return [rev]
            } catch StoreError.identical {
                try insertAudit(action: "confirm-expired", revision: p.revision, outcome: .ok, detail: message + "; content already equal, nothing to restore")
                return []
            }
        }
    }

    /// Inside a commit or rollback transaction: settles an earlier pending confirmation and, for
    /// `--confirm`, registers this revision as pending.
    func settlePending(revision: Revision, previous: Int64?, confirmWithin: TimeInterval?) throws {
        let earlier = try pendingConfirmation()
        if let earlier {
            try db.prepare("DELETE FROM pending_confirm").run()
            if confirmWithin == nil {
                try insertAudit(action: "confirm", revision: earlier.revision, outcome: .ok, detail: "revision \(earlier.revision) confirmed implicitly by revision \(revision.id)")
            }
        }
        guard let seconds = confirmWithin else { return }
        let fallBack = earlier.map(\.previous) ?? previous
        let deadline = Date().addingTimeInterval(seconds)
        try db.prepare("INSERT INTO pending_confirm (revision, previous, deadline) VALUES (?, ?, ?)")
            .run([.int(revision.id), .of(fallBack), .int(deadline.millis)])
    }
}
