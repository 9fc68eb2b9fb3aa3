import ArgumentParser
import CLibbpf
import EmptcpApply
import EmptcpStore
import Foundation
import Logging

/// `emptcp-bench switch`: the generation switch and boot restore at several policy sizes.
///
/// Per size N (tcp4 bindings on XDP): boot restore, from an empty bpffs to the policy in force
/// (load + attach, then the apply that fills one generation); the first change after it, which
/// fills the other generation; a one-binding change once both are written, with its flip (one
/// 4-byte write); a rollback to the previous revision, which the standby holds already (a flip
/// alone). The baselines, measured in the same run: one `bpf_map_update_batch` of the same N
/// entries into a fresh hash map of the same layout, and one `bpf_map_update_elem`.
///
/// Runs itself inside a private network namespace (a veth pair to attach to) and a private mount
/// namespace (`ip netns exec`), so its bpffs and links disappear with it.
struct SwitchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Time the generation switch and boot restore at 1k/10k/100k bindings against raw BPF map updates.")

    @Option(help: "Comma-separated binding counts.") var sizes = "1000,10000,100000"
    @Option(help: "Repetitions per measurement.") var reps = 5
    @Flag(help: "Tiny sizes for a CI smoke run (100,1000; 2 reps).") var quick = false
    @Option(help: "Directory of the built BPF objects (default: discovered like emptcp).") var bpfDir: String?
    @Flag(help: "Print JSON.") var json = false

    struct Row: Codable {
        var operation: String
        var bindings: Int
        var minUs: Double, medianUs: Double, maxUs: Double
        /// Median over the baseline's median (the baseline row itself: 1).
        var ratio: Double?
        var baseline: String?
    }

    static let insideEnv = "EMPTCP_BENCH_SWITCH_NETNS"

    func validate() throws {
        guard sizes.split(separator: ",").allSatisfy({ (Int($0.trimmingCharacters(in: .whitespaces)) ?? 0) >= 2 }) else {
            throw ValidationError("--sizes: comma-separated counts, each at least 2")
        }
        guard reps >= 1 else { throw ValidationError("--reps: at least 1") }
    }

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("needs root (network namespace, bpffs, XDP)") }
        if let netns = ProcessInfo.processInfo.environment[Self.insideEnv] {
            try measure(netns: netns)
        } else {
            try Self.reexecInNetns()
        }
    }

    /// Makes a namespace with a veth pair, runs this same command inside it, removes the namespace.
    static func reexecInNetns() throws {
        let netns = "ebsw-\(getpid())"
        try shell(["ip", "netns", "add", netns])
        defer { _ = try? shell(["ip", "netns", "del", netns]) }
        try shell(["ip", "-n", netns, "link", "add", "a0", "type", "veth", "peer", "name", "b0"])
        try shell(["ip", "-n", netns, "link", "set", "a0", "up"])
        try shell(["ip", "-n", netns, "link", "set", "b0", "up"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ip")
        process.arguments = ["netns", "exec", netns, CommandLine.arguments[0]] + CommandLine.arguments.dropFirst()
        var environment = ProcessInfo.processInfo.environment
        environment[insideEnv] = netns
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
    }

    @discardableResult
    static func shell(_ argv: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(argv.joined(separator: " ")): \(String(decoding: data, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// N tcp4 bindings to chain `slow`; with `moved`, binding `moved` goes to `fast` instead.
    static func policy(_ n: Int, window: UInt16, moved: Int? = nil) -> Policy {
        let local = IPAddress("10.0.1.1")!, remote = IPAddress("10.0.1.2")!
        var bindings = (0..<n).map { i in
            Binding(BindingKey(hook: .xdp, selector: .tcp4, local: local, localPort: UInt16(1024 + i % 60000),
                    remote: IPAddress(bytes: [10, 1, UInt8(i / 60000), 2]) ?? remote, remotePort: 40000), chain: "slow")
        }
        if let moved { bindings[moved].chain = "fast" }
        return Policy(selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or)]],
                      chains: ["slow": [.setRecvWin(window: window)], "fast": [.setRecvWin(window: 3200)]],
                      bindings: bindings)
    }

    func measure(netns: String) throws {
        let counts = quick ? [100, 1000] : sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let reps = quick ? 2 : reps
        var logger = Logger(label: "emptcp-bench")
        logger.logLevel = .error
        var rows: [Row] = []
        for n in counts {
            var samples: [String: [Double]] = [:]
            let base = Self.policy(n, window: 1600)
            let changed = Self.policy(n, window: 1600, moved: n / 2), again = Self.policy(n, window: 1600, moved: n / 3)
            for rep in 0..<reps {
                let root = "/run/emptcp-bench-switch-\(getpid())-\(n)-\(rep)"
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                try Sys.mountBPFFS(at: root)
                defer { try? Sys.unmount(root); try? Sys.removeDirectory(root) }
                let applier = Applier(pinRoot: root, bpfDir: bpfDir, logDirectory: NSTemporaryDirectory(), logger: logger)
                defer { _ = try? applier.detach(interface: "a0") }

                // Baselines: the same N tcp4 entries in one batch; one element.
                samples["baseline: raw batch update", default: []].append(try Self.rawBatch(n))
                samples["baseline: raw single update", default: []].append(try Self.rawBatch(1))

                let clock = ContinuousClock()
                let load = try clock.measure { _ = try applier.attach(interface: "a0", xdpMode: .generic) }
                samples["boot: load + attach", default: []].append(Self.us(load))
                var report: ApplyReport?
                let restore = try clock.measure { report = try applier.apply(policy: base, revision: 1) }
                samples["boot: restore apply", default: []].append(Self.us(restore))
                samples["boot: restore until in force", default: []].append(Double(report!.inForceMicros))
                let fill = try clock.measure { report = try applier.apply(policy: changed, revision: 2) }
                samples["first change after a restore (fills the standby)", default: []].append(Self.us(fill))
                let one = try clock.measure { report = try applier.apply(policy: again, revision: 3) }
                samples["one-binding apply", default: []].append(Self.us(one))
                samples["one-binding apply until in force", default: []].append(Double(report!.inForceMicros))
                samples["flip (emptcp_live write)", default: []].append(Double(report!.flipMicros))
                let back = try clock.measure { report = try applier.apply(policy: changed, revision: 2) }
                samples["rollback to the previous revision (a flip alone)", default: []].append(Self.us(back))
                let noop = try clock.measure { report = try applier.apply(policy: changed, revision: 2) }
                samples["apply again (no changes)", default: []].append(Self.us(noop))
            }
            let batch = Self.median(samples["baseline: raw batch update"]!)
            let single = Self.median(samples["baseline: raw single update"]!)
            let order: [(String, String?)] = [
                ("baseline: raw batch update", nil), ("baseline: raw single update", nil),
                ("boot: load + attach", nil),
                ("boot: restore apply", "raw batch"), ("boot: restore until in force", "raw batch"),
                ("first change after a restore (fills the standby)", "raw batch"),
                ("one-binding apply", "raw single"), ("one-binding apply until in force", "raw single"),
                ("flip (emptcp_live write)", "raw single"),
                ("rollback to the previous revision (a flip alone)", "raw single"),
                ("apply again (no changes)", "raw batch"),
            ]
            for (op, against) in order {
                let values = samples[op]!.sorted()
                let median = Self.median(values)
                let ratio: Double? = switch against {
                case "raw batch": batch > 0 ? median / batch : nil
                case "raw single": single > 0 ? median / single : nil
                default: nil
                }
                rows.append(Row(operation: op, bindings: n, minUs: values.first!, medianUs: median, maxUs: values.last!,
                                ratio: ratio, baseline: against))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("| bindings | operation | median µs | min | max | ratio |")
        print("|---:|---|---:|---:|---:|---|")
        for r in rows {
            let ratio = r.ratio.map { String(format: "%.2f × %@", $0, r.baseline ?? "") } ?? "-"
            print("| \(r.bindings) | \(r.operation) | \(String(format: "%.0f", r.medianUs)) | \(String(format: "%.0f", r.minUs)) | \(String(format: "%.0f", r.maxUs)) | \(ratio) |")
        }
    }

    /// One bpf_map_update_batch of `n` tcp4 entries (n = 1: one bpf_map_update_elem) into a fresh hash map laid out like
    /// `emptcp_<h>_tcp4`; microseconds.
    static func rawBatch(_ n: Int) throws -> Double {
        let keySize = MemoryLayout<emptcp_tcp4_key>.size
        let map = try Sys.createHashMap(name: "bench_raw", keySize: keySize, valueSize: 4, maxEntries: max(n, 1) * 2, noPrealloc: true)
        var keys = [UInt8](repeating: 0, count: n * keySize)
        var values = [UInt8](repeating: 0, count: n * 4)
        for i in 0..<n {
            var key = emptcp_tcp4_key()
            key.family = UInt8(EMPTCP_AF_INET)
            key.local_port = UInt16(1024 + i % 60000).bigEndian
            key.remote_port = UInt16(40000).bigEndian
            withUnsafeMutableBytes(of: &key.local) { $0.copyBytes(from: [10, 0, 1, 1]) }
            withUnsafeMutableBytes(of: &key.remote) { $0.copyBytes(from: [10, 1, UInt8(i / 60000), 2]) }
            withUnsafeBytes(of: key) { raw in for j in 0..<keySize { keys[i * keySize + j] = raw[j] } }
            values[i * 4] = 1
        }
        let clock = ContinuousClock()
        return us(try clock.measure { try Sys.writeEntries(map, "bench_raw", keys: keys, values: values, count: n) })
    }

    static func us(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
