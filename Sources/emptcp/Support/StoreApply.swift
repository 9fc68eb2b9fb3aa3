import EmptcpApply
import EmptcpStore
import Foundation
import Logging

/// "applied if attached" (design §4): after a command changes the current revision, replay it
/// into the kernel when our programs are attached under the pin root. The store change stands
/// either way; a failed apply is audited (by Kernel.applyCurrent) and reported, and
/// `emptcp apply` retries it.
extension StoreCLI {
    /// Returns false when an apply was needed and failed.
    static func applyIfAttached(
        _ store: PolicyStore, _ global: GlobalOptions, logger: Logger, force: Bool = false, say: (String) -> Void = { print($0) }
    ) -> Bool {
        let applier = Applier(pinRoot: global.pinRoot, logger: logger)
        guard applier.isAttached() else { return true }
        do {
            if let (revision, report) = try Kernel.applyCurrent(applier, store, global, force: force) {
                say("applied revision \(revision.id): \(report.summary)")
            }
            return true
        } catch {
            warn("emptcp: apply failed (the revision is stored; run `emptcp apply` to retry): \(error)")
            return false
        }
    }
}
