extension DataPlaneStatus {
    /// What each data-plane counter counts (the `emptcp_<h>_counts` map; abi.h), as HELP text.
    static let counterHelp: [String: String] = [
        "packets": "Packets seen by the entry program.",
        "not_tcp": "Packets that are not IPv4/IPv6 TCP, passed unchanged.",
        "malformed": "Packets with truncated or malformed headers, passed unchanged.",
        "tail_call_fail": "Tail calls into an empty or invalid program slot.",
        "no_chain": "Matches whose binding names an action chain that is not loaded.",
        "target": "Packets that matched a selector chain.",
        "add_addr_nopped": "ADD_ADDR options overwritten with NOPs.",
        "add_addr_dropped": "Segments dropped because an ADD_ADDR was their only MPTCP option.",
        "ringbuf_full": "Events lost because the ring buffer was full.",
        "prio_no_room": "MP_PRIO insertions skipped for lack of TCP option room.",
        "prio_present": "MP_PRIO insertions skipped because the segment already carried one.",
        "prio_added": "MP_PRIO options inserted.",
        "record_full": "Flows not recorded because the record flow table was full.",
        "win_set": "TCP receive windows rewritten.",
    ]

    /// The status as Prometheus metrics (text exposition format), ready for node_exporter's
    /// textfile collector: whether the data plane is loaded and in sync with the store, the
    /// current and kernel revisions (0: none), a `commit --confirm` awaiting confirmation (its
    /// deadline in Unix seconds, nil when none), the drift, map entries, attached hooks and every
    /// data-plane counter (one family per counter, labelled by hook).
    public func prometheus(currentRevision: Int64?, inSync: Bool, confirmDeadline: Double? = nil, version: String) -> String {
        var out = PrometheusText()
        out.family("emptcp_build_info", .gauge, help: "The emptcp version writing these metrics (always 1).",
                   [.init([("version", version)], UInt64(1))])
        out.family("emptcp_loaded", .gauge, help: "1 when the programs and maps are pinned under the pin root.",
                   [.init([("pin_root", pinRoot)], loaded)])
        out.family("emptcp_in_sync", .gauge,
                   help: "1 when every interface has both hooks attached, the kernel holds the current revision and no map entry drifts.",
                   [.init([], inSync)])
        out.family("emptcp_drift_entries", .gauge, help: "Map entries that differ from the current revision (emptcp apply repairs them).",
                   [.init([], Int64(drift.count))])
        out.family("emptcp_revision_current", .gauge, help: "The store's current revision (0: none committed).",
                   [.init([], currentRevision ?? 0)])
        out.family("emptcp_revision_kernel", .gauge, help: "The revision the kernel's maps hold (0: none applied).",
                   [.init([], kernelRevision ?? 0)])
        out.family("emptcp_confirm_pending", .gauge,
                   help: "1 while a commit --confirm revision awaits emptcp confirm (it rolls back at the deadline).",
                   [.init([], confirmDeadline != nil)])
        if let confirmDeadline {
            out.family("emptcp_confirm_deadline_timestamp_seconds", .gauge,
                       help: "When the revision awaiting confirmation rolls back, in Unix seconds.",
                       [.init([], Int64(confirmDeadline.rounded(.up)))])
        }
        out.family("emptcp_hook_attached", .gauge,
                   help: "1 for each hook emptcp attached that is live on its interface, 0 when its link lost the device.",
                   interfaces.flatMap { iface in
                       iface.hooks.map { .init([("interface", iface.name), ("hook", $0.hook), ("mode", $0.mode)], $0.mode != "detached") }
                   })
        out.family("emptcp_map_entries", .gauge, help: "Entries in each managed BPF map.",
                   maps.map { .init([("map", $0.map)], Int64($0.entries)) })
        // Counters keep the order status reads them in: by counter index, hooks side by side.
        var order: [String] = []
        var byName: [String: [PrometheusText.Sample]] = [:]
        for c in counters {
            if byName[c.counter] == nil { order.append(c.counter) }
            byName[c.counter, default: []].append(.init([("hook", c.hook)], c.value))
        }
        for name in order {
            out.family("emptcp_\(name)_total", .counter,
                       help: Self.counterHelp[name] ?? "Data-plane counter \(name).", byName[name] ?? [])
        }
        return out.text
    }
}
