import ArgumentParser
import EmptcpStore
import Foundation

/// `emptcp-bench store`: times the store's commit, one-binding change and rollback at several
/// policy sizes, each as min/median/max over repetitions and as a ratio to the raw SQLite insert
/// of the same rows measured in the same run (`RawBaseline`).
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Time commit, one-binding change and rollback at 1k/10k/100k bindings against a raw SQLite insert.")

    @Option(help: "Comma-separated binding counts.") var sizes = "1000,10000,100000"
    @Option(help: "Repetitions per measurement (at least 5 for reported figures).") var reps = 5
    @Flag(help: "Tiny sizes for a CI smoke run (100,1000; 3 reps).") var quick = false
    @Option(help: "Scratch directory for the databases.") var dir: String?
    @Flag(help: "Print JSON.") var json = false

    struct Row: Codable {
        var operation: String
        var bindings: Int
        var minMs: Double, medianMs: Double, maxMs: Double
        var ratioToBaseline: Double?
        /// Median CPU time of the measuring thread: on a shared, oversubscribed machine wall time
        /// includes waiting for a core, CPU time does not (it excludes fsync waits too).
        var cpuMedianMs: Double
    }

    func validate() throws {
        let counts = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        // Below 10 bindings the one-binding changes of a run would coincide and be refused as identical.
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 10 }) else { throw ValidationError("--sizes: comma-separated counts, each at least 10") }
        guard reps >= 1 else { throw ValidationError("--reps: at least 1") }
    }

    func run() throws {
        let counts = quick ? [100, 1000] : sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let reps = quick ? 3 : max(1, reps)
        let root = dir ?? NSTemporaryDirectory() + "emptcp-store-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        var rows: [Row] = []
        for n in counts {
            let a = Self.policy(n, chain: "slow"), b = Self.policy(n, chain: "backup")
            var samples: [String: [Double]] = [:]
            var cpu: [String: [Double]] = [:]
            /// Times `body` into `samples[op]` (wall) and `cpu[op]` (thread CPU).
            func measure(_ op: String, _ body: () throws -> Void) throws {
                let c0 = Self.threadCPU()
                samples[op, default: []].append(try Self.time(body))
                cpu[op, default: []].append(Self.threadCPU() - c0)
            }
            for rep in 0..<reps {
                let base = "\(root)/n\(n)-r\(rep)"
                let raw = try RawBaseline(path: base + "-raw.db")
                try measure("baseline: raw insert") { try raw.insert(a.bindings) }
                let store = try PolicyStore(path: base + ".db")
                try measure("commit (full policy)") { _ = try store.commit(a, message: nil) }
                // One binding re-pointed, through the incremental API (what a tool editing a large policy uses).
                var one = a.bindings[n / 2]
                one.chain = "backup"
                try measure("change 1 binding: commit(changes:)") {
                    _ = try store.commit(changes: BindingChanges(upsert: [one]), message: nil)
                }
                // The same kind of change given as a whole policy: diffed against the live rows.
                var a2 = a
                a2.bindings[n / 3].chain = "backup"
                a2.bindings[n / 2] = one
                try measure("change 1 binding: commit(full policy)") { _ = try store.commit(a2, message: nil) }
                try measure("rollback 1 binding") { _ = try store.rollback(to: nil, message: nil) }
                // Every binding re-pointed, then rolled back: the worst case, 2n rows touched.
                _ = try store.commit(b, message: nil)
                try measure("rollback all bindings") { _ = try store.rollback(to: 1, message: nil) }
                try measure("read policy(at:)") { _ = try store.policy(at: 1) }
                if ProcessInfo.processInfo.environment["EMPTCP_BENCH_PARTS"] != nil {
                    try measure("part: validate") { try PolicyValidator.validate(a, modules: [], file: nil) }
                    try measure("part: content hash") { _ = StoreBenchProbe.hash(a) }
                    try measure("part: key strings") { _ = a.bindings.map { $0.key.description } }
                }
                let text = PolicyFile.render(a)
                try measure("parse+validate YAML file") {
                    let (p, map) = try PolicyFile.parse(text, file: "bench.yaml")
                    try PolicyValidator.validate(p, modules: [], map: map)
                }
            }
            let baseline = Self.median(samples["baseline: raw insert"]!)
            for op in samples.keys.sorted(by: { Self.order($0) < Self.order($1) }) {
                let s = samples[op]!.sorted()
                rows.append(Row(operation: op, bindings: n, minMs: s.first! * 1000, medianMs: Self.median(s) * 1000, maxMs: s.last! * 1000,
                                ratioToBaseline: op.hasPrefix("baseline") ? nil : Self.median(s) / baseline,
                                cpuMedianMs: Self.median(cpu[op]!) * 1000))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("store benchmark: \(reps) reps, wall times in ms (min / median / max), ratio = median / raw-insert median of the same size,")
        print("cpu med = median CPU time of the measuring thread (excludes waiting for a core or for fsync)")
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        print(pad("operation", 40, left: true) + pad("bindings", 9) + pad("min", 10) + pad("median", 10) + pad("max", 10) + pad("ratio", 8)
              + pad("cpu med", 10))
        for r in rows {
            let ratio = r.ratioToBaseline.map { String(format: "%.2f", $0) } ?? "-"
            print(pad(r.operation, 40, left: true) + pad("\(r.bindings)", 9) + pad(String(format: "%.2f", r.minMs), 10)
                  + pad(String(format: "%.2f", r.medianMs), 10) + pad(String(format: "%.2f", r.maxMs), 10) + pad(ratio, 8)
                  + pad(String(format: "%.2f", r.cpuMedianMs), 10))
        }
    }

    static let operations = [
        "baseline: raw insert", "commit (full policy)", "change 1 binding: commit(changes:)", "change 1 binding: commit(full policy)",
        "rollback 1 binding", "rollback all bindings", "read policy(at:)", "parse+validate YAML file",
    ]
    static func order(_ op: String) -> Int { operations.firstIndex(of: op) ?? 99 }

    /// n tcp4 bindings, IPv4, distinct keys; selector chains and two chains as in the sample of docs/store.md.
    static func policy(_ n: Int, chain: String) -> Policy {
        var p = Policy(
            selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or)]],
            chains: ["slow": [.setRecvWin(window: 1600), .rmAddAddr], "backup": [.setFlowPrio(backup: true, addrId: nil)]])
        p.bindings.reserveCapacity(n)
        for i in 0..<n {
            let local = IPAddress(bytes: [10, 1, UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8)])
            let remote = IPAddress(bytes: [10, 2, 0, UInt8(truncatingIfNeeded: i)])
            p.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: local, localPort: 5201, remote: remote,
                                      remotePort: UInt16(truncatingIfNeeded: 1024 + i % 60000)), chain: chain))
        }
        return p
    }

    static func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// CPU time of the calling thread, seconds.
    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
