import EmptcpApply
import EmptcpStore
import Foundation

/// After every apply that changed the revision the kernel holds (commit, rollback, confirm
/// expiry, apply, apply --boot): work out what the change undoes on live connections, queue it
/// in the store, and hand it to the running daemon. Without a daemon the apply still stands;
/// one line says the live connections were not updated, and the audit records it (the queued
/// repairs run when a daemon starts, if the revision then current still calls for them).
enum LiveRepairHook {
    /// `policy` (the revision's content) is read only when the revision in force changed.
    static func afterApply(_ store: PolicyStore, revision: Int64, policy: () throws -> Policy, report: ApplyReport) {
        guard let previous = report.previousRevision, previous != revision, let old = try? store.policy(at: previous),
              let policy = try? policy() else { return }
        let repairs = LiveRepairPlanner.repairs(from: old, to: policy)
        guard !repairs.isEmpty else {
            // Runtime bindings (docs/controllers.md) are written into the maps again, or dropped,
            // by the daemon at the hand-over; with none queued it is the only thing to hand over.
            if (try? store.runtimeBindings().isEmpty) == false {
                let socket = DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)
                if (try? DaemonClient.send(DaemonRequest(op: DaemonRequest.repair), socketPath: socket))?.ok != true {
                    Console.warn("emptcp: runtime bindings were not reconciled: no daemon answers on \(socket)")
                }
            }
            return
        }
        let what = repairs.map { "\($0.kind.rawValue) \($0.match)" }.joined(separator: "; ")
        do {
            try store.queueLiveRepairs(repairs, revision: revision)
        } catch {
            Console.warn("emptcp: live connections were not updated: cannot queue repairs: \(error)")
            return
        }
        let socket = DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)
        let reply: DaemonReply
        do {
            reply = try DaemonClient.send(DaemonRequest(op: DaemonRequest.repair), socketPath: socket)
        } catch {
            Console.warn("emptcp: live connections were not updated: no daemon answers on \(socket) (\(repairs.count) repairs queued)")
            try? store.recordAudit(action: "live-repair", revision: revision, outcome: .failed,
                                   detail: "live connections not updated: no daemon on \(socket); queued: \(what)")
            return
        }
        if reply.ok {
            Console.print("live connections: \(repairs.count) repairs handed to the daemon")
            try? store.recordAudit(action: "live-repair", revision: revision, outcome: .ok, detail: "handed to the daemon: \(what)")
        } else {
            Console.warn("emptcp: live connections were not updated: the daemon refused: \(reply.error ?? "no reason")")
            try? store.recordAudit(action: "live-repair", revision: revision, outcome: .failed,
                                   detail: "live connections not updated: daemon refused (\(reply.error ?? "")); queued: \(what)")
        }
    }
}
