import Testing
@testable import EmptcpApply

/// The Prometheus text exposition of `emptcp status --format prometheus`: HELP and TYPE once per
/// family, label values and HELP text escaped, counters grouped per name with a hook label.
/// (tests/metrics/ parses the output of a real attached data plane with prometheus_client.)
@Suite struct PrometheusTextTests {
    @Test func familyHasHelpTypeAndSamples() {
        var p = PrometheusText()
        p.family("x_total", .counter, help: "Things.", [.init([("hook", "xdp")], UInt64(3)), .init([("hook", "tc")], UInt64(0))])
        p.family("y", .gauge, help: "Y.", [.init([], Int64(-2))])
        #expect(p.text == """
            # HELP x_total Things.
            # TYPE x_total counter
            x_total{hook="xdp"} 3
            x_total{hook="tc"} 0
            # HELP y Y.
            # TYPE y gauge
            y -2

            """)
    }

    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        #expect(PrometheusText.escapeLabelValue(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(PrometheusText.escapeLabelValue("plain/path-1") == "plain/path-1")
    }

    @Test func helpEscapesBackslashAndNewlineButNotQuotes() {
        #expect(PrometheusText.escapeHelp(#"say "hi" \ now"# + "\nthen") == #"say "hi" \\ now\nthen"#)
    }

    @Test func metricNamesFollowTheGrammar() {
        #expect(PrometheusText.isValidName("emptcp_tail_call_fail_total"))
        #expect(PrometheusText.isValidName("ns:metric_1"))
        #expect(!PrometheusText.isValidName("1abc"))
        #expect(!PrometheusText.isValidName("a-b"))
        #expect(!PrometheusText.isValidName(""))
    }

    @Test func statusMetricsGroupCountersByNameWithHookLabels() {
        let status = DataPlaneStatus(
            pinRoot: "/sys/fs/bpf/emptcp", loaded: true,
            interfaces: [InterfaceStatus(name: "eth0", ifindex: 2, hooks: [HookStatus(hook: "xdp", mode: "generic", programID: 7),
                                                                        HookStatus(hook: "tc", mode: "detached", programID: 8)])],
            kernelRevision: 4, abiVersion: 1, maps: [MapStatus(map: "emptcp_x_tcp2", entries: 3)],
            counters: [CounterStatus(hook: "xdp", counter: "packets", value: 10), CounterStatus(hook: "xdp", counter: "ringbuf_full", value: 1),
                       CounterStatus(hook: "tc", counter: "packets", value: 5), CounterStatus(hook: "tc", counter: "ringbuf_full", value: 0)],
            drift: [DriftEntry(map: "emptcp_x_tcp2", key: "k", problem: .missing, expected: "chain a", actual: nil)])
        let text = status.prometheus(currentRevision: 5, inSync: false, version: "9.9")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("emptcp_revision_current 5"))
        #expect(lines.contains("emptcp_revision_kernel 4"))
        #expect(lines.contains("emptcp_in_sync 0"))
        #expect(lines.contains("emptcp_drift_entries 1"))
        #expect(lines.contains(#"emptcp_hook_attached{interface="eth0",hook="xdp",mode="generic"} 1"#))
        #expect(lines.contains(#"emptcp_hook_attached{interface="eth0",hook="tc",mode="detached"} 0"#))
        #expect(lines.contains(#"emptcp_map_entries{map="emptcp_x_tcp2"} 3"#))
        #expect(lines.contains(#"emptcp_build_info{version="9.9"} 1"#))
        // One family per counter, both hooks inside it, HELP and TYPE exactly once each.
        let packets = lines.firstIndex(of: "# TYPE emptcp_packets_total counter")!
        #expect(lines[packets + 1] == #"emptcp_packets_total{hook="xdp"} 10"#)
        #expect(lines[packets + 2] == #"emptcp_packets_total{hook="tc"} 5"#)
        #expect(lines.filter { $0.hasPrefix("# TYPE emptcp_ringbuf_full_total ") }.count == 1)
        #expect(lines.filter { $0.hasPrefix("# HELP ") }.count == lines.filter { $0.hasPrefix("# TYPE ") }.count)
        #expect(lines.contains("emptcp_confirm_pending 0"))
        #expect(!text.contains("emptcp_confirm_deadline_timestamp_seconds"))
        // No revision yet reads as 0.
        #expect(status.prometheus(currentRevision: nil, inSync: false, version: "1").contains("\nemptcp_revision_current 0\n"))
        // A pending confirmation: the flag and its deadline, rounded up to whole seconds.
        let pending = status.prometheus(currentRevision: 5, inSync: true, confirmDeadline: 1_800_000_000.2, version: "1")
        #expect(pending.contains("\nemptcp_confirm_pending 1\n"))
        #expect(pending.contains("\nemptcp_confirm_deadline_timestamp_seconds 1800000001\n"))
    }
}
