import CLibbpf
import EmptcpStore

/// Per-flow metrics of the `record` actor, summed over CPUs.
public struct FlowStats: Sendable, Hashable, Codable {
    public let flow: EventFlow
    public let packets: UInt64
    public let bytes: UInt64
    public let rttSamples: UInt64
    /// Microseconds; nil without samples.
    public let rttLastUs: UInt32?
    public let rttMinUs: UInt32?
    public let rttAvgUs: UInt64?
    /// bpf_ktime_get_ns() of the latest packet on any CPU.
    public let lastSeenNs: UInt64

    enum CodingKeys: String, CodingKey {
        case flow, packets, bytes, rttSamples = "rtt_samples", rttLastUs = "rtt_last_us", rttMinUs = "rtt_min_us"
        case rttAvgUs = "rtt_avg_us", lastSeenNs = "last_seen_ns"
    }
}

/// Reads `<pin root>/maps/emptcp_x_stats` (PERCPU_HASH or LRU_PERCPU_HASH; key struct
/// emptcp_flow, value struct emptcp_flow_stats per CPU).
public enum StatsReader {
    public static let mapName = MapNames.flowStats

    public static func read(pinRoot: String) throws -> [FlowStats] {
        try PinRoot.reading(pinRoot) { try readPinned(pinRoot: pinRoot) }
    }

    private static func readPinned(pinRoot: String) throws -> [FlowStats] {
        let path = PinLayout(root: pinRoot).map(mapName)
        try PinRoot.requirePinned(path, root: pinRoot)
        let map = try Sys.objectGet(path)
        let info = try Sys.mapInfo(map, path)
        let keySize = MemoryLayout<emptcp_flow>.size
        let valueSize = MemoryLayout<emptcp_flow_stats>.size
        guard info.key_size == keySize, info.value_size == valueSize else {
            throw SystemError(operation: "read flow stats (key \(info.key_size)/\(keySize), value \(info.value_size)/\(valueSize) bytes)",
                              object: path, code: 22)
        }
        let perCPU = info.type == BPF_MAP_TYPE_PERCPU_HASH.rawValue || info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH.rawValue
        let cpus = perCPU ? try Sys.possibleCPUs() : 1
        let stride = perCPU ? (valueSize + 7) & ~7 : valueSize
        var result: [FlowStats] = []
        var key: [UInt8]? = nil
        while let next = try Sys.mapNextKey(map, path, after: key, keySize: keySize) {
            key = next
            // A flow removed (FIN/RST) between next_key and lookup is simply gone.
            guard let value = try Sys.mapLookup(map, path, key: next, valueSize: stride * cpus) else { continue }
            let flowKey = next.withUnsafeBytes { $0.loadUnaligned(as: emptcp_flow.self) }
            guard let flow = EventDecoder.flow(flowKey) else { continue }
            let parts = (0..<cpus).map { cpu in
                value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: cpu * stride, as: emptcp_flow_stats.self) }
            }
            result.append(sum(flow, parts))
        }
        return result.sorted { $0.flow.description < $1.flow.description }
    }

    /// Sums per-CPU values: counters add, the latest sample comes from the CPU that saw the most
    /// recent packet, the minimum is the least non-zero minimum.
    static func sum(_ flow: EventFlow, _ parts: [emptcp_flow_stats]) -> FlowStats {
        let samples = parts.reduce(0) { $0 &+ $1.rtt_samples }
        let total = parts.reduce(0) { $0 &+ $1.rtt_sum_us }
        let latest = parts.filter { $0.rtt_samples > 0 }.max { $0.last_ts_ns < $1.last_ts_ns }
        let minimum = parts.filter { $0.rtt_samples > 0 && $0.rtt_min_us > 0 }.map(\.rtt_min_us).min()
        return FlowStats(
            flow: flow,
            packets: parts.reduce(0) { $0 &+ $1.packets },
            bytes: parts.reduce(0) { $0 &+ $1.bytes },
            rttSamples: samples,
            rttLastUs: latest?.rtt_last_us,
            rttMinUs: samples > 0 ? minimum : nil,
            rttAvgUs: samples > 0 ? total / samples : nil,
            lastSeenNs: parts.map(\.last_ts_ns).max() ?? 0)
    }
}
