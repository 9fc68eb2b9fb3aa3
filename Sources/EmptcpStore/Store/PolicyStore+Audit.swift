import Foundation

extension PolicyStore {
    /// Adds one audit row in its own transaction (for callers such as the applier).
    public func recordAudit(action: String, revision: Int64?, outcome: AuditOutcome, detail: String) throws {
        try recordAudit(action: action, revision: revision, outcome: outcome, detail: detail, durable: true)
    }

    /// `durable: false` commits without waiting for the disk (synchronous NORMAL for this one
    /// transaction): for a row that records no change of state, such as an apply that found the
    /// kernel already holding the revision. A power cut may lose that row and nothing else; the
    /// next durable commit syncs the WAL with it, so rows are never reordered.
    public func recordAudit(action: String, revision: Int64?, outcome: AuditOutcome, detail: String, durable: Bool) throws {
        if !durable { try db.execute("PRAGMA synchronous = NORMAL") }
        defer { if !durable { try? db.execute("PRAGMA synchronous = FULL") } }
        try write("audit") { try insertAudit(action: action, revision: revision, outcome: outcome, detail: detail) }
    }

    /// Audit rows, oldest first; `since` keeps rows at or after that time.
    public func audit(since: Date?) throws -> [AuditEntry] {
        try db.prepare("SELECT id, at, uid, user, host, action, revision, outcome, detail FROM audit WHERE at >= ? ORDER BY id")
            .rows([.int(since?.millis ?? Int64.min)]) { s in
                AuditEntry(
                    id: s.int64(0), time: Date(millis: s.int64(1)), uid: UInt32(truncatingIfNeeded: s.int64(2)), user: s.text(3), host: s.text(4),
                    action: s.text(5), revision: s.int64OrNil(6), outcome: AuditOutcome(rawValue: s.text(7)) ?? .failed, detail: s.text(8))
            }
    }

    /// Inside a write transaction.
    func insertAudit(action: String, revision: Int64?, outcome: AuditOutcome, detail: String) throws {
        try db.prepare("INSERT INTO audit (at, uid, user, host, action, revision, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run([
            .int(Date().millis), .int(Int64(identity.uid)), .text(identity.user), .text(identity.host), .text(action), .of(revision),
            .text(outcome.rawValue), .text(detail),
        ])
    }

    /// Records a failed attempt after its transaction rolled back. Refusals (identical content, a
    /// module in use) are `refused`; everything else `failed`. Best effort: if even this write
    /// fails (say the database stays busy) the caller's error is what matters, so it is logged.
    func auditFailure(action: String, revision: Int64?, error: Error) {
        let outcome: AuditOutcome
        switch error as? StoreError {
        case .identical?, .alreadyCurrent?, .moduleInUse?, .nothingToRollBack?: outcome = .refused
        default: outcome = .failed
        }
        let detail = (error as? StoreError)?.description ?? "\(error)"
        do {
            try write("audit") { try insertAudit(action: action, revision: revision, outcome: outcome, detail: detail) }
        } catch {
            logger.warning("could not audit failed \(action)", metadata: ["store.error": "\(error)"])
        }
    }
}
