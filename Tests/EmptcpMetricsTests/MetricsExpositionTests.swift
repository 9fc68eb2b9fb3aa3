import Testing
@testable import EmptcpApply
@testable import EmptcpMetrics

/// The exposition `status --format prometheus` prints and the daemon's /metrics serves, from one
/// MetricsSnapshot: HELP and TYPE once per family, label values escaped, counters one family per
/// name with a hook label, the daemon's families only from the daemon. (tests/metrics/ parses
/// real output with prometheus_client.)
@Suite struct MetricsExpositionTests {
    static let kernel = DataPlaneStatus(
        pinRoot: #"/sys/fs/bpf/a"b\c"#, loaded: true,
        interfaces: [InterfaceStatus(name: "eth0", ifindex: 2, hooks: [HookStatus(hook: "xdp", mode: "generic", programID: 7),
                                                                    HookStatus(hook: "tc", mode: "detached", programID: 8)])],
        kernelRevision: 4, abiVersion: 1, maps: [MapStatus(map: "emptcp_x_tcp2", entries: 3)],
        counters: [CounterStatus(hook: "xdp", counter: "packets", value: 10), CounterStatus(hook: "xdp", counter: "ringbuf_full", value: 1),
                   CounterStatus(hook: "tc", counter: "packets", value: 5), CounterStatus(hook: "tc", counter: "ringbuf_full", value: 0)],
        drift: [DriftEntry(map: "emptcp_x_tcp2", key: "k", problem: .missing, expected: "chain a", actual: nil)])

    /// Sample lines as {"name{labels}": value}, and the HELP/TYPE lines.
    static func parse(_ text: String) -> (samples: [String: Double], help: [String], type: [String: String]) {
        var samples: [String: Double] = [:]
        var help: [String] = []
        var type: [String: String] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                help.append(String(line.dropFirst(7).split(separator: " ")[0]))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                #expect(type[String(parts[0])] == nil, "TYPE twice for \(parts[0])")
                type[String(parts[0])] = String(parts[1])
            } else {
                let space = line.lastIndex(of: " ")!
                samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
        return (samples, help, type)
    }

    @Test func statusFamiliesCarryTheKernelAndTheStore() {
        let text = MetricsSnapshot(version: "9.9", kernel: Self.kernel, currentRevision: 5, inSync: false, runtimeBindings: 2,
                                   connectionsTracked: 3).exposition()
        let (samples, help, type) = Self.parse(text)
        #expect(samples["emptcp_revision_current"] == 5)
        #expect(samples["emptcp_revision_kernel"] == 4)
        #expect(samples["emptcp_in_sync"] == 0)
        #expect(samples["emptcp_drift_entries"] == 1)
        #expect(samples["emptcp_runtime_bindings"] == 2)
        #expect(samples["emptcp_connections_tracked"] == 3)
        #expect(samples[#"emptcp_hook_attached{interface="eth0",hook="xdp",mode="generic"}"#] == 1)
        #expect(samples[#"emptcp_hook_attached{interface="eth0",hook="tc",mode="detached"}"#] == 0)
        #expect(samples[#"emptcp_map_entries{map="emptcp_x_tcp2"}"#] == 3)
        #expect(samples[#"emptcp_build_info{version="9.9"}"#] == 1)
        // The pin root's quote and backslash are escaped in the label value.
        #expect(samples[#"emptcp_loaded{pin_root="/sys/fs/bpf/a\"b\\c"}"#] == 1)
        // One counter family per counter, both hooks inside it.
        #expect(type["emptcp_packets_total"] == "counter" && type["emptcp_ringbuf_full_total"] == "counter")
        #expect(samples[#"emptcp_packets_total{hook="xdp"}"#] == 10 && samples[#"emptcp_packets_total{hook="tc"}"#] == 5)
        #expect(samples[#"emptcp_ringbuf_full_total{hook="tc"}"#] == 0)
        #expect(type["emptcp_in_sync"] == "gauge")
        // Every family has its HELP, once.
        #expect(help.sorted() == type.keys.sorted())
        // The daemon's families come only from the daemon; no confirmation pending means no deadline.
        #expect(!type.keys.contains { $0.hasPrefix("emptcp_daemon_") })
        #expect(samples["emptcp_confirm_pending"] == 0 && type["emptcp_confirm_deadline_timestamp_seconds"] == nil)
        // No revision yet reads as 0.
        #expect(Self.parse(MetricsSnapshot(version: "1", kernel: Self.kernel, currentRevision: nil, inSync: false).exposition())
            .samples["emptcp_revision_current"] == 0)
    }

    @Test func pendingConfirmationShowsItsDeadlineInWholeSeconds() {
        let text = MetricsSnapshot(version: "1", kernel: Self.kernel, currentRevision: 5, inSync: true, confirmDeadline: 1_800_000_000.2)
            .exposition()
        let samples = Self.parse(text).samples
        #expect(samples["emptcp_confirm_pending"] == 1)
        #expect(samples["emptcp_confirm_deadline_timestamp_seconds"] == 1_800_000_001)
    }

    @Test func daemonFamiliesCountInjectionsByKindAndOutcome() {
        var daemon = DaemonMetrics.Snapshot()
        daemon.injections[.init(.mpPrio, .seen)] = 2
        daemon.injections[.init(.addAddr, .notSeen)] = 1
        daemon.ringEvents = 40
        daemon.pathManagerEvents = 7
        daemon.controllers = 1
        let text = MetricsSnapshot(version: "1", kernel: Self.kernel, currentRevision: 5, inSync: true, daemon: daemon).exposition()
        let (samples, _, type) = Self.parse(text)
        #expect(type["emptcp_daemon_injections_total"] == "counter")
        #expect(samples[#"emptcp_daemon_injections_total{kind="mp_prio",outcome="seen"}"#] == 2)
        #expect(samples[#"emptcp_daemon_injections_total{kind="add_addr",outcome="not_seen"}"#] == 1)
        // Every kind and outcome is there from the start, at 0.
        #expect(samples.keys.filter { $0.hasPrefix("emptcp_daemon_injections_total{") }.count
            == DaemonMetrics.InjectionKind.allCases.count * DaemonMetrics.Outcome.allCases.count)
        #expect(samples[#"emptcp_daemon_injections_total{kind="subflow_create",outcome="failed"}"#] == 0)
        #expect(samples[#"emptcp_daemon_events_total{source="ring_buffer"}"#] == 40)
        #expect(samples[#"emptcp_daemon_events_total{source="path_manager"}"#] == 7)
        #expect(samples["emptcp_daemon_controllers"] == 1 && samples["emptcp_daemon_event_subscribers"] == 0)
        // The status families are all there too.
        let status = Self.parse(MetricsSnapshot(version: "1", kernel: Self.kernel, currentRevision: 5, inSync: true).exposition()).type
        #expect(Set(status.keys).isSubset(of: Set(type.keys)))
    }

    @Test func daemonMetricsCountOutcomesFromTheLoop() {
        let metrics = DaemonMetrics()
        metrics.injection(.mpPrio, .seen(event: "SUB_PRIORITY", afterMs: 3))
        metrics.injection(.mpPrio, .notSeen(event: "SUB_PRIORITY", withinMs: 1000))
        metrics.injection(.mpPrio, .notSeen(event: "SUB_PRIORITY", withinMs: 1000))
        metrics.injection(.addAddr, .failed("no socket"))
        metrics.events(ring: 3)
        metrics.events(ring: 2, pathManager: 1)
        let s = metrics.snapshot
        #expect(s.injections[.init(.mpPrio, .seen)] == 1 && s.injections[.init(.mpPrio, .notSeen)] == 2)
        #expect(s.injections[.init(.addAddr, .failed)] == 1)
        #expect(s.ringEvents == 5 && s.pathManagerEvents == 1)
    }
}
