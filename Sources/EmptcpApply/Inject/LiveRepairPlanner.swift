import EmptcpStore

/// Works out what a change of revision undoes on connections that are already running. The
/// data plane only rewrites packets while a binding holds; what the stack has already taken in
/// stays: an ADD_ADDR that `rm_add_addr` removed was never seen, and a backup mark from an
/// MP_PRIO that `set_flow_prio {backup: true}` inserted on XDP sticks. When the new revision stops
/// doing that for a binding, the live connections under it need a repair.
///
/// Bindings are compared by key (hook, selector, addresses, ports) on the XDP hook, where both
/// effects reach our own stack; TC rewrites what the peer sees and is the peer's business.
public enum LiveRepairPlanner {
    public static func repairs(from old: Policy?, to new: Policy) -> [LiveRepair] {
        guard let old else { return [] }
        let before = effects(old), after = effects(new)
        var result: [LiveRepair] = []
        for (key, was) in before.sorted(by: { $0.key < $1.key }) {
            let now = after[key] ?? Effects()
            if (was.stripsAddAddr && !now.stripsAddAddr) || (now.recoversAddAddr && !was.recoversAddAddr) {
                result.append(LiveRepair(kind: .redeliverAddAddr, match: key))
            }
            if was.marksBackup && !now.marksBackup {
                result.append(LiveRepair(kind: .clearBackup, match: key))
            }
        }
        // recover_add_addr newly bound where nothing was bound before.
        for (key, now) in after.sorted(by: { $0.key < $1.key }) where before[key] == nil && now.recoversAddAddr {
            result.append(LiveRepair(kind: .redeliverAddAddr, match: key))
        }
        return result
    }

    struct Effects {
        var stripsAddAddr = false
        var recoversAddAddr = false
        var marksBackup = false
    }

    static func effects(_ policy: Policy) -> [BindingKey: Effects] {
        var result: [BindingKey: Effects] = [:]
        for binding in policy.bindings where binding.key.hook == .xdp {
            var e = Effects()
            for actor in policy.chains[binding.chain] ?? [] {
                switch actor {
                case .rmAddAddr: e.stripsAddAddr = true
                case .recoverAddAddr: e.recoversAddAddr = true
                case .setFlowPrio(let backup, _): e.marksBackup = e.marksBackup || backup
                default: break
                }
            }
            result[binding.key] = e
        }
        return result
    }

    /// True when a subflow (from our side) falls under the binding key as XDP sees it: local is
    /// this host, remote the peer. An absent field matches anything (the `tcp` selector has none).
    public static func matches(_ key: BindingKey, _ subflow: SubflowKey) -> Bool {
        if let local = key.local, local != subflow.local { return false }
        if let remote = key.remote, remote != subflow.remote { return false }
        if let port = key.localPort, port != subflow.localPort { return false }
        if let port = key.remotePort, port != subflow.remotePort { return false }
        return true
    }
}
