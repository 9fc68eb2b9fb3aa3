import EmptcpApply
import EmptcpStore
import Foundation
import Logging

/// "applied if attached" (design §4): after a command changes the current revision, replay it
/// into the kernel when our programs are attached under the pin root. The store change stands
/// either way; a failed apply is audited and reported, and `emptcp apply` retries it.
extension StoreCLI {
    /// Returns false when an apply was needed and failed.
    static func applyIfAttached(_ store: PolicyStore, _ global: GlobalOptions, logger: Logger) -> Bool {
        let applier = Applier(pinRoot: global.pinRoot, logger: logger)
        guard applier.isAttached() else { return true }
        do {
            guard let revision = try store.currentRevision() else { return true }
            var slots = ModuleSlots()
            for m in try store.modules() {
                switch m.kind {
                case .selector: slots.selectors[m.hook, default: [:]][m.name] = UInt8(clamping: m.slot)
                case .actor: slots.actors[m.hook, default: [:]][m.name] = UInt8(clamping: m.slot)
                }
            }
            do {
                let report = try applier.apply(policy: try store.policy(at: revision.id), revision: revision.id, modules: slots)
                try store.recordAudit(action: "apply", revision: revision.id, outcome: .ok, detail: report.summary)
                print("applied revision \(revision.id): \(report.summary)")
            } catch {
                try? store.recordAudit(action: "apply", revision: revision.id, outcome: .failed, detail: "\(error)")
                throw error
            }
            return true
        } catch {
            warn("emptcp: apply failed (the revision is stored; run `emptcp apply` to retry): \(error)")
            return false
        }
    }
}
