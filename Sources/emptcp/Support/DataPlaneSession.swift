import EmptcpApply
import EmptcpStore
import Foundation
import Logging

/// What one invocation works on: the policy store at `--db` and the data plane pinned under
/// `--pin-root`, with the steps several commands share (open the store, build the applier,
/// replay the current revision into the kernel).
struct DataPlaneSession {
    let global: GlobalOptions
    var logger: Logger = .cli

    /// The applier for this pin root; verifier logs go next to the database when its directory exists.
    func applier(bpfDir: String? = nil) -> Applier {
        let dbDirectory = (global.db as NSString).deletingLastPathComponent
        let logDirectory = FileManager.default.fileExists(atPath: dbDirectory) ? dbDirectory : nil
        return Applier(pinRoot: global.pinRoot, bpfDir: bpfDir, logDirectory: logDirectory, logger: logger)
    }

    /// Opens the store. Opening rolls back a `commit --confirm` whose deadline passed; the timer
    /// should have done that, so if it died the kernel must follow the rollback now. Notes go to
    /// stderr: stdout belongs to the command's own result (which may be JSON). Reading commands
    /// pass `.existing`: a mistyped `--db` is then an error, not a new empty database.
    func openStore(_ mode: PolicyStore.OpenMode = .create) throws -> PolicyStore {
        let store = try PolicyStore(path: global.db, logger: logger, mode: mode)
        for r in store.expiredOnOpen {
            Console.warn("revision \(r.parent ?? 0) was not confirmed in time; rolled back as revision \(r.id)")
        }
        if !store.expiredOnOpen.isEmpty { _ = applyIfAttached(store, note: Console.warn) }
        return store
    }

    /// Operator modules: copies and verifier logs live next to the database.
    func moduleManager() -> ModuleManager {
        let dbDirectory = (global.db as NSString).deletingLastPathComponent
        let base = dbDirectory.isEmpty ? "." : dbDirectory
        return ModuleManager(pinRoot: global.pinRoot, moduleDirectory: base + "/modules", logDirectory: base, logger: logger)
    }

    /// Operator module slots recorded in the store, as the map encoder needs them.
    func moduleSlots(_ store: PolicyStore) throws -> ModuleSlots {
        var slots = ModuleSlots()
        for module in try store.modules() {
            switch module.kind {
            case .selector: slots.selectors[module.hook, default: [:]][module.name] = UInt8(clamping: module.slot)
            case .actor: slots.actors[module.hook, default: [:]][module.name] = UInt8(clamping: module.slot)
            }
        }
        return slots
    }

    /// Applies the store's current revision and audits the outcome; nil when no revision exists yet.
    /// Refused when another store owns the pin root, unless `force`; a successful apply claims
    /// the pin root for this store (StoreOwnership).
    /// The revision's rows are read from the store only when the kernel does not provably hold
    /// it already (Applier.apply's fast path); `verify` compares every map entry anyway.
    @discardableResult
    func applyCurrent(_ applier: Applier, _ store: PolicyStore, force: Bool = false, verify: Bool = false) throws -> (Revision, ApplyReport)? {
        // Under the data plane's lock, so the revision read here is still the newest when applied.
        try applier.exclusively { try applyCurrentLocked(applier, store, force: force, verify: verify) }
    }

    private func applyCurrentLocked(_ applier: Applier, _ store: PolicyStore, force: Bool, verify: Bool) throws -> (Revision, ApplyReport)? {
        guard let revision = try store.currentRevision() else { return nil }
        do {
            try StoreOwnership.check(store, applier, global, force: force)
            // Attach loads only the built-in programs: put the recorded operator modules back in
            // their slots first, so a chain that names one never meets an empty slot.
            if try !store.modules().isEmpty {
                _ = try moduleManager().restore(catalog: store)
            }
            // The applier encodes the revision straight from the store's rows (when the
            // kernel does not hold it already); a `Policy` is built only for the live repairs
            // below, and only when the revision in force changed.
            let report = try applier.apply(revision: revision.id, contentHash: revision.contentHash, from: store,
                                           modules: try moduleSlots(store), verify: verify)
            try StoreOwnership.claim(store, applier, global)
            // An apply that wrote nothing records its row without an fsync: the no-op apply's
            // largest cost after process start was that one disk flush.
            try store.recordAudit(action: "apply", revision: revision.id, outcome: .ok, detail: report.summary,
                                  durable: report.writes > 0)
            LiveRepairHook.afterApply(store, revision: revision.id, policy: { try store.policy(at: revision.id) }, report: report)
            return (revision, report)
        } catch {
            try? store.recordAudit(action: "apply", revision: revision.id, outcome: .failed, detail: "\(error)")
            throw error
        }
    }

    /// "Applied if attached": after a command changes the current revision, replay it into the
    /// kernel when our programs are attached under the pin root. The store change stands either
    /// way; a failed apply is audited and reported, and `emptcp apply` retries it. Returns false
    /// when an apply was needed and failed.
    func applyIfAttached(_ store: PolicyStore, force: Bool = false, note: (String) -> Void = Console.print) -> Bool {
        let applier = applier()
        guard applier.isAttached() else { return true }
        do {
            if let (revision, report) = try applyCurrent(applier, store, force: force) {
                note("applied revision \(revision.id): \(report.summary)")
            }
            return true
        } catch {
            Console.warn("emptcp: apply failed (the revision is stored; run `emptcp apply` to retry): \(error)")
            return false
        }
    }
}
