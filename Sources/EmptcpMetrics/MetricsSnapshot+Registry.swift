import EmptcpApply
import Prometheus

/// The one place metrics are named, typed, described and labelled (docs/operations.md#metrics
/// lists them). swift-prometheus writes the text exposition: HELP and TYPE once per family,
/// label values escaped. A fresh registry per snapshot holds the values read at that moment, so
/// a family appears exactly when there is something to say (no stale label sets).
extension MetricsSnapshot {
    /// What each data-plane counter counts (the `emptcp_<h>_counts` map; abi.h).
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

    /// The registry holding this snapshot's values.
    public func registry() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ help: String, labels: [(String, String)] = [], _ value: Double) {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(to: value)
        }
        func gauge(_ name: String, _ help: String, labels: [(String, String)] = [], _ value: Bool) {
            gauge(name, help, labels: labels, value ? 1 : 0)
        }
        func counter(_ name: String, _ help: String, labels: [(String, String)], _ value: UInt64) {
            registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels).increment(by: Int64(clamping: value))
        }

        gauge("emptcp_build_info", "The emptcp version writing these metrics (always 1).", labels: [("version", version)], 1)
        gauge("emptcp_loaded", "1 when the programs and maps are pinned under the pin root.", labels: [("pin_root", kernel.pinRoot)], kernel.loaded)
        gauge("emptcp_in_sync", "1 when every interface has both hooks attached, the kernel holds the current revision and no map entry drifts.",
              inSync)
        gauge("emptcp_drift_entries", "Map entries that differ from the current revision (emptcp apply --verify repairs them).", Double(kernel.drift.count))
        gauge("emptcp_revision_current", "The store's current revision (0: none committed).", Double(currentRevision ?? 0))
        gauge("emptcp_revision_kernel", "The revision the kernel's maps hold (0: none applied).", Double(kernel.kernelRevision ?? 0))
        gauge("emptcp_confirm_pending", "1 while a commit --confirm revision awaits emptcp confirm (it rolls back at the deadline).",
              confirmDeadline != nil)
        if let confirmDeadline {
            gauge("emptcp_confirm_deadline_timestamp_seconds", "When the revision awaiting confirmation rolls back, in Unix seconds.",
                  confirmDeadline.rounded(.up))
        }
        for iface in kernel.interfaces {
            for hook in iface.hooks {
                gauge("emptcp_hook_attached", "1 for each hook emptcp attached that is live on its interface, 0 when its link lost the device.",
                      labels: [("interface", iface.name), ("hook", hook.hook), ("mode", hook.mode)], hook.mode != "detached")
            }
        }
        for map in kernel.maps {
            gauge("emptcp_map_entries", "Entries in each managed BPF map.", labels: [("map", map.map)], Double(map.entries))
        }
        for c in kernel.counters {
            counter("emptcp_\(c.counter)_total", Self.counterHelp[c.counter] ?? "Data-plane counter \(c.counter).", labels: [("hook", c.hook)], c.value)
        }
        gauge("emptcp_runtime_bindings", "Per-connection bindings controllers made, apart from the revision's.", Double(runtimeBindings))
        gauge("emptcp_connections_tracked", "MPTCP connections the daemon tracks in the store.", Double(connectionsTracked))

        if let daemon {
            // Every kind and outcome from the start, so a rate over the first injection is not lost.
            for kind in DaemonMetrics.InjectionKind.allCases {
                for outcome in DaemonMetrics.Outcome.allCases {
                    counter("emptcp_daemon_injections_total",
                            "Injections into the local stack, each attempt, by what they carried and whether the kernel's event was seen.",
                            labels: [("kind", kind.rawValue), ("outcome", outcome.rawValue)],
                            daemon.injections[DaemonMetrics.InjectionKey(kind, outcome)] ?? 0)
                }
            }
            let eventsHelp = "Events the daemon consumed: ring-buffer records and MPTCP path manager events."
            counter("emptcp_daemon_events_total", eventsHelp, labels: [("source", "ring_buffer")], daemon.ringEvents)
            counter("emptcp_daemon_events_total", eventsHelp, labels: [("source", "path_manager")], daemon.pathManagerEvents)
            gauge("emptcp_daemon_injections_in_flight", "Injections waiting for the kernel's event.", Double(daemon.injectionsInFlight))
            gauge("emptcp_daemon_controllers", "Controllers connected to the daemon.", Double(daemon.controllers))
            gauge("emptcp_daemon_event_subscribers", "emptcp events clients streaming through the daemon.", Double(daemon.eventSubscribers))
        }
        return registry
    }

    /// The text exposition (format 0.0.4) of `registry()`.
    public func exposition() -> String {
        registry().emitToString()
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
