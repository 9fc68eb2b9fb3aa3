import EmptcpStore

/// A controller's `set_priority`: the MP_PRIO live repair uses, with either B bit. It is
/// delivered as if the peer had sent it, so it sets or clears the mark our scheduler reads
/// (a backup subflow carries data only when no other can), and it counts once the kernel
/// reports SUB_PRIORITY with that backup value for the subflow.
extension LiveRepairEngine {
    public func setPriority(subflow: SubflowKey, backup: Bool, controller: String, reply: @escaping (Bool, String) -> Void) {
        do {
            guard let (info, _) = try liveSubflow(subflow.ingress) else {
                return reply(false, "no live MPTCP subflow \(subflow) (connection closed?)")
            }
            if info.peerBackup == backup {
                return reply(true, "\(info.subflow) already has backup=\(backup ? 1 : 0)")
            }
            let what = "MP_PRIO B=\(backup ? 1 : 0) controller=\(controller)"
            inject(MptcpOption.mpPrio(backup: backup), on: info, what: what,
                   expected: .priority(token: info.token, subflow: info.subflow, backup: backup), revision: nil, attempt: 1) { outcome in
                reply(outcome.isSeen, "MP_PRIO B=\(backup ? 1 : 0) on \(info.subflow): \(outcome)")
            }
        } catch {
            reply(false, "\(error)")
        }
    }
}
