import EmptcpApply
import EmptcpStore
import Foundation

/// One store per pin root. The pin root records the store that last applied to it (PinOwner);
/// commit, rollback, apply and attach from another database are refused with one line before
/// anything changes, unless `--force`, which hands the pin root to this store. Without this a
/// commit on a scratch `EMPTCP_DB` replaced the live policy of the default pin root.
enum StoreOwnership {
    /// The refusal; exit 1 (a state conflict, not bad input).
    struct Refused: Error, CustomStringConvertible {
        var pinRoot: String
        var owner: PinOwner
        var database: String

        var description: String {
            "pin root \(pinRoot) belongs to the store \(owner.database) (id \(owner.store.prefix(12))), not \(database); "
                + "nothing changed (use that database, or --force to hand the pin root to this one)"
        }
    }

    /// Throws `Refused` when the pin root is owned by a store other than `store`.
    static func check(_ store: PolicyStore, _ applier: Applier, _ global: GlobalOptions, force: Bool) throws {
        // An owner record this user cannot read (not root) blocks nothing: such a user cannot
        // write the kernel either, and the store-only part of a commit stays possible.
        guard !force, let owner = try? applier.owner() else { return }
        if owner.store == (try store.storeIdentity())?.hex { return }
        throw Refused(pinRoot: global.pinRoot, owner: owner, database: absolute(global.db))
    }

    /// The check before a command changes the store: a refusal is audited as `action` failed.
    static func require(_ store: PolicyStore, _ session: DataPlaneSession, action: String, force: Bool) throws {
        do {
            try check(store, session.applier(), session.global, force: force)
        } catch let refused as Refused {
            try? store.recordAudit(action: action, revision: nil, outcome: .failed, detail: "refused: \(refused)")
            throw refused
        }
    }

    /// Records this store as the pin root's owner (after it applied there).
    static func claim(_ store: PolicyStore, _ applier: Applier, _ global: GlobalOptions) throws {
        guard let identity = try store.storeIdentity() else { return }
        try applier.claim(PinOwner(store: identity.hex, database: absolute(global.db)))
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
}
