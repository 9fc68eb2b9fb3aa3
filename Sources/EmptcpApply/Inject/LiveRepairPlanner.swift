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
        // Only the few keys that need a repair are sorted (into key order, the same for every
        // run): a key's order compares its text, far too dear for 100k bindings.
        var result: [LiveRepair] = []
        for key in before.compactMap({ key, was in Self.repairs(was: was, now: after[key] ?? Effects()).isEmpty ? nil : key }).sorted() {
            result += Self.repairs(was: before[key]!, now: after[key] ?? Effects()).map { LiveRepair(kind: $0, match: key) }
        }
        // recover_add_addr newly bound where nothing was bound before.
        for key in after.compactMap({ key, now in before[key] == nil && now.recoversAddAddr ? key : nil }).sorted() {
            result.append(LiveRepair(kind: .redeliverAddAddr, match: key))
        }
        return result
    }

    /// What one binding key needs when its effects go from `was` to `now`, in a fixed order.
    static func repairs(was: Effects, now: Effects) -> [LiveRepair.Kind] {
        var kinds: [LiveRepair.Kind] = []
        if (was.stripsAddAddr && !now.stripsAddAddr) || (now.recoversAddAddr && !was.recoversAddAddr) { kinds.append(.redeliverAddAddr) }
        if was.marksBackup && !now.marksBackup { kinds.append(.clearBackup) }
        return kinds
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
