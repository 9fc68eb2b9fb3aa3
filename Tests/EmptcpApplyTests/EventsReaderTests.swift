import CLibbpf
import EmptcpStore
import Testing
@testable import EmptcpApply

private func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

/// The reader against a real kernel ring buffer: records pushed by a BPF program with
/// bpf_ringbuf_output (run with BPF_PROG_TEST_RUN) come back decoded, in order.
@Suite(.serialized) struct EventsReaderTests {
    @Test func readsRecordsFromPinnedRingBuffer() throws {
        let k = try KernelFixture("rb")
        let base = try k.loadBase()
        let emit = try #require(base["base_emit"])
        let reader = try EventReader(pinRoot: k.root)
        #expect(try reader.read().isEmpty)

        let flow = EventFlow(source: IPAddress("10.0.1.1")!, sourcePort: 40000, destination: IPAddress("10.0.1.2")!, destinationPort: 5201)
        var capable = emptcp_ev_mptcp()
        capable.hdr.version = UInt16(EMPTCP_EVENT_VERSION)
        capable.hdr.type = UInt16(EMPTCP_EV_MP_CAPABLE.rawValue)
        capable.hdr.len = UInt16(MemoryLayout<emptcp_ev_mptcp>.size)
        capable.hdr.hook = 1
        capable.hdr.flow = EventDecoder.flowKey(flow)
        capable.has_local_key = 1
        capable.local_key = UInt64(0x0102_0304_0506_0708).bigEndian
        var future = capable
        future.hdr.version = 2

        for record in [bytes(capable), bytes(future)] {
            #expect(try Sys.testRun(emit, "base_emit", packet: record, repeat: 1, outputSize: 512).retval == 2)
        }
        // The epoll descriptor reports the waiting records.
        let stop = try StopSignal()
        #expect(try stop.wait(for: [reader.pollDescriptor], timeoutMs: 1000)?.isEmpty == false)
        let events = try reader.read()
        #expect(events.count == 2)
        guard case .mpCapable(let h, let s) = events.first else { Issue.record("first is \(events.first?.name ?? "none")"); return }
        #expect(h.flow == flow)
        #expect(s.senderToken == 0x6684_0dda)
        #expect(EventLine(events[0]).text.contains("sender_token=66840dda"))
        guard case .unknown(_, let reason, _) = events[1] else { Issue.record("v2 record decoded"); return }
        #expect(reason.contains("version 2"))
        #expect(reader.unknownCount == 1)
    }

    @Test func statsSumOverCPUs() throws {
        let k = try KernelFixture("stats")
        try k.loadBase()
        let map = try PinnedMap(path: k.layout.map(StatsReader.mapName), name: StatsReader.mapName)
        let cpus = try Sys.possibleCPUs()
        let flow = EventFlow(source: IPAddress("fd00::2")!, sourcePort: 5201, destination: IPAddress("fd00::1")!, destinationPort: 40000)
        var value: [UInt8] = []
        for cpu in 0..<cpus {
            var s = emptcp_flow_stats()
            s.packets = UInt64(10 + cpu)
            s.bytes = 1000
            s.rtt_samples = cpu == 0 ? 2 : 1
            s.rtt_sum_us = cpu == 0 ? 300 : 100
            s.rtt_last_us = cpu == 0 ? 120 : 100
            s.rtt_min_us = cpu == 0 ? 90 : 100
            s.last_ts_ns = cpu == 0 ? 5 : 9
            value += bytes(s)
        }
        try map.update(bytes(EventDecoder.flowKey(flow)), value)
        let stats = try StatsReader.read(pinRoot: k.root)
        #expect(stats.count == 1)
        let s = try #require(stats.first)
        #expect(s.flow == flow)
        #expect(s.packets == UInt64((0..<cpus).reduce(0) { $0 + 10 + $1 }))
        #expect(s.bytes == UInt64(1000 * cpus))
        #expect(s.rttSamples == UInt64(2 + (cpus - 1)))
        #expect(s.rttMinUs == (cpus > 1 ? 90 : 90))
        #expect(s.rttAvgUs == UInt64(300 + 100 * (cpus - 1)) / UInt64(2 + (cpus - 1)))
        #expect(s.rttLastUs == (cpus > 1 ? 100 : 120))
    }
}
