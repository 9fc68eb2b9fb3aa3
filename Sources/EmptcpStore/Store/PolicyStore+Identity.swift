import Foundation

/// Which store a database is, independent of its path: the first 16 bytes of the SHA-256 of its
/// first revision (time in milliseconds, writer, host, content hash). Revisions are never
/// rewritten, so the identity never changes; a copy or a backup of the file is the same store,
/// and a database with no revision yet has no identity (it cannot own a pin root before it has
/// a policy to put there). No schema change is needed to carry it.
public struct StoreIdentity: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits.
    public let hex: String

    public var description: String { hex }

    init(firstRevision r: Revision) {
        let text = "emptcp-store\n\(r.createdAt.millis)\n\(r.uid)\n\(r.user)\n\(r.host)\n\(r.contentHash)"
        hex = SHA256.hash(Array(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

extension PolicyStore {
    /// This store's identity; nil while it has no revision.
    public func storeIdentity() throws -> StoreIdentity? {
        try db.prepare("SELECT \(Self.revisionColumns) FROM revision ORDER BY id LIMIT 1").rows([], Self.decodeRevision).first
            .map(StoreIdentity.init(firstRevision:))
    }
}
