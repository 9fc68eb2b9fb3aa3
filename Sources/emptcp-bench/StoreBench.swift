import ArgumentParser
import EmptcpStore
import Foundation

/// `emptcp-bench store`: times the store's commit, one-binding change and rollback at several
/// policy sizes, the policy file parsers, and whole `emptcp` processes (commit of a YAML and a
/// JSON file, a one-binding change, with peak RSS), each as min/median/max over repetitions and as
/// a ratio to its floor measured in the same run: the raw SQLite insert of the same rows
/// (`RawBaseline`) for store work, Foundation's JSONDecoder reading the same JSON for parsing, and
/// `emptcp --version` (process start) for the one-binding change.
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Time commit, one-binding change and rollback at 1k/10k/100k bindings against a raw SQLite insert.")

    @Option(help: "Comma-separated binding counts.") var sizes = "1000,10000,100000"
    @Option(help: "Repetitions per measurement (at least 5 for reported figures).") var reps = 5
    @Flag(help: "Tiny sizes for a CI smoke run (100,1000; 3 reps).") var quick = false
    @Option(help: "Scratch directory for the databases.") var dir: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "The emptcp executable for the whole-process rows (default: next to emptcp-bench; none: skip them).")
    var emptcp: String?

    struct Row: Codable {
        var operation: String
        var bindings: Int
        var minMs: Double, medianMs: Double, maxMs: Double
        /// The floor row this one is divided by, median / floor median, and the smallest and
        /// largest ratio of one repetition to the floor measured in the same repetition.
        var floor: String?
        var ratio: Double?
        var ratioMin: Double?, ratioMax: Double?
        /// Peak resident set size of the process (whole-process rows), MiB, median.
        var peakRSSMiB: Double?
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
        let emptcpPath = emptcp ?? (CommandLine.arguments[0] as NSString).deletingLastPathComponent + "/emptcp"
        let wholeProcess = emptcp != "none" && FileManager.default.isExecutableFile(atPath: emptcpPath)
        for n in counts {
            let a = Self.policy(n, chain: "slow"), b = Self.policy(n, chain: "backup")
            let yamlText = PolicyFile.render(a), jsonText = PolicyFile.renderJSON(a)
            let yamlFile = "\(root)/policy-\(n).yaml", jsonFile = "\(root)/policy-\(n).json"
            try yamlText.write(toFile: yamlFile, atomically: true, encoding: .utf8)
            try jsonText.write(toFile: jsonFile, atomically: true, encoding: .utf8)
            // The same file with an explicit tag on its first binding's chain: the fast path leaves
            // such a file to the node tree from the start, which is how every file was read before.
            let treeFile = "\(root)/policy-\(n)-tree.yaml"
            try yamlText.replacingOccurrences(of: "chain: slow}", with: "chain: !!str slow}", range: yamlText.range(of: "chain: slow}"))
                .write(toFile: treeFile, atomically: true, encoding: .utf8)
            // A one-binding patch: another binding than `binding set` re-points, so both change the revision.
            let patchFile = "\(root)/patch-\(n).yaml"
            var patched = a.bindings[n / 3]
            patched.chain = "backup"
            try PolicyFile.render(BindingChanges(upsert: [patched])).write(toFile: patchFile, atomically: true, encoding: .utf8)
            // The node-tree rows (how files were read before the event reader) take 15× the
            // parse: only on request.
            let before = ProcessInfo.processInfo.environment["EMPTCP_BENCH_PARTS"] != nil
            var samples: [String: [Double]] = [:]
            var cpu: [String: [Double]] = [:]
            var rss: [String: [Double]] = [:]
            /// Times `body` into `samples[op]` (wall) and `cpu[op]` (thread CPU).
            func measure(_ op: String, _ body: () throws -> Void) throws {
                let c0 = Self.threadCPU()
                samples[op, default: []].append(try Self.time(body))
                cpu[op, default: []].append(Self.threadCPU() - c0)
            }
            /// Runs emptcp as a whole process (wall time, peak RSS); it must exit 0.
            func process(_ op: String, db: String, _ args: [String]) throws {
                let (seconds, peakKiB) = try Self.runProcess(emptcpPath, args, db: db, pins: root + "/no-pins")
                samples[op, default: []].append(seconds)
                cpu[op, default: []].append(0)
                if let peakKiB { rss[op, default: []].append(Double(peakKiB) / 1024) }
            }
            for rep in 0..<reps {
                let base = "\(root)/n\(n)-r\(rep)"
                let raw = try RawBaseline(path: base + "-raw.db")
                try measure("floor: raw SQLite insert") { try raw.insert(a.bindings) }
                try measure("floor: JSONDecoder parse") { _ = try JSONDecoder().decode(FileShape.self, from: Data(jsonText.utf8)) }
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
                try measure("parse+validate YAML file") {
                    let (p, map) = try PolicyFile.parse(yamlText, file: "bench.yaml")
                    try PolicyValidator.validate(p, modules: [], map: map)
                }
                try measure("parse+validate JSON file") {
                    let (p, map) = try PolicyFile.parse(jsonText, file: "bench.json")
                    try PolicyValidator.validate(p, modules: [], map: map)
                }
                if before { try measure("parse YAML, node tree (before)") { _ = try StoreBenchProbe.parseTree(yamlText) } }
                if wholeProcess {
                    try process("floor: emptcp --version", db: base + "-v.db", ["--version"])
                    try process("emptcp commit FILE.yaml", db: base + "-y.db", ["commit", yamlFile])
                    try process("emptcp commit FILE.json", db: base + "-j.db", ["commit", jsonFile])
                    if before { try process("emptcp commit, node tree (before)", db: base + "-t.db", ["commit", treeFile]) }
                    let k = one.key
                    try process("emptcp binding set (1 binding)", db: base + "-j.db", [
                        "binding", "set", "--hook", k.hook.rawValue, "--selector", k.selector.rawValue,
                        "--local", k.local!.description, "--local-port", "\(k.localPort!)",
                        "--remote", k.remote!.description, "--remote-port", "\(k.remotePort!)", "--chain", "backup",
                    ])
                    try process("emptcp commit --patch (1 binding)", db: base + "-j.db", ["commit", "--patch", patchFile])
                }
            }
            for op in samples.keys.sorted(by: { Self.order($0) < Self.order($1) }) {
                let s = samples[op]!.sorted()
                let floor = Self.floor(of: op)
                let floorSamples = floor.flatMap { samples[$0] }
                let ratio = floorSamples.map { Self.median(s) / Self.median($0) }
                // Per repetition: both lists hold one sample per repetition, in order.
                let perRep = floorSamples.map { zip(samples[op]!, $0).map { $0 / $1 } }
                rows.append(Row(operation: op, bindings: n, minMs: s.first! * 1000, medianMs: Self.median(s) * 1000, maxMs: s.last! * 1000,
                                floor: floor, ratio: ratio, ratioMin: perRep?.min(), ratioMax: perRep?.max(),
                                peakRSSMiB: rss[op].map(Self.median), cpuMedianMs: Self.median(cpu[op]!) * 1000))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("store benchmark: \(reps) reps, wall times in ms (min / median / max); ratio = median / median of the row's floor of the")
        print("same size and run (S: raw SQLite insert, J: JSONDecoder parse, P: emptcp --version), then the smallest and largest ratio")
        print("of one repetition to the floor of the same repetition; cpu med = median CPU time of the measuring thread (excludes")
        print("waiting for a core or for fsync; 0 for whole processes); RSS = peak RSS of the process, median")
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        print(pad("operation", 40, left: true) + pad("bindings", 9) + pad("min", 10) + pad("median", 10) + pad("max", 10) + pad("ratio", 10)
              + pad("range", 13) + pad("cpu med", 10) + pad("RSS MiB", 9))
        for r in rows {
            let tag = r.floor.map { $0.contains("SQLite") ? " S" : $0.contains("JSON") ? " J" : " P" } ?? ""
            let ratio = r.ratio.map { String(format: "%.2f", $0) + tag } ?? "-"
            let range = r.ratioMin.flatMap { lo in r.ratioMax.map { String(format: "%.2f–%.2f", lo, $0) } } ?? "-"
            print(pad(r.operation, 40, left: true) + pad("\(r.bindings)", 9) + pad(String(format: "%.2f", r.minMs), 10)
                  + pad(String(format: "%.2f", r.medianMs), 10) + pad(String(format: "%.2f", r.maxMs), 10) + pad(ratio, 10)
                  + pad(range, 13) + pad(String(format: "%.2f", r.cpuMedianMs), 10) + pad(r.peakRSSMiB.map { String(format: "%.1f", $0) } ?? "-", 9))
        }
    }

    static let operations = [
        "floor: raw SQLite insert", "floor: JSONDecoder parse", "floor: emptcp --version",
        "commit (full policy)", "change 1 binding: commit(changes:)", "change 1 binding: commit(full policy)",
        "rollback 1 binding", "rollback all bindings", "read policy(at:)",
        "parse+validate YAML file", "parse+validate JSON file", "parse YAML, node tree (before)",
        "emptcp commit FILE.yaml", "emptcp commit FILE.json", "emptcp commit, node tree (before)", "emptcp binding set (1 binding)",
        "emptcp commit --patch (1 binding)",
    ]
    static func order(_ op: String) -> Int { operations.firstIndex(of: op) ?? 99 }

    /// Each row's floor: parsing against JSONDecoder, a one-binding process against process
    /// start, everything else against the raw insert of the same rows.
    static func floor(of op: String) -> String? {
        if op.hasPrefix("floor") { return nil }
        if op.hasPrefix("parse") { return "floor: JSONDecoder parse" }
        if op.hasSuffix("(1 binding)") { return "floor: emptcp --version" }
        return "floor: raw SQLite insert"
    }

    /// The policy file's shape for JSONDecoder: the floor any JSON reader of the same content meets.
    struct FileShape: Decodable {
        struct BindingLine: Decodable {
            var hook: String, selector: String, chain: String
            var local: String?, remote: String?
            var local_port: Int?, remote_port: Int?
        }
        enum Parameter: Decodable {
            case int(Int), bool(Bool)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let b = try? c.decode(Bool.self) { self = .bool(b) } else { self = .int(try c.decode(Int.self)) }
            }
        }
        var selectors: [String: [[String: String]]]
        var chains: [String: [[String: [String: Parameter]]]]
        var bindings: [BindingLine]
    }

    /// Runs `path args` with the database at `db`; wall seconds and peak RSS (KiB, through
    /// /usr/bin/time when it is installed).
    static func runProcess(_ path: String, _ args: [String], db: String, pins: String) throws -> (Double, Int?) {
        let timeTool = "/usr/bin/time"
        let measureRSS = FileManager.default.isExecutableFile(atPath: timeTool)
        let rssFile = db + ".rss"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: measureRSS ? timeTool : path)
        p.arguments = measureRSS ? ["-f", "%M", "-o", rssFile, path] + args : args
        p.environment = ProcessInfo.processInfo.environment.merging(["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": pins]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        // Not `waitUntilExit()`: on Linux it polls the run loop every 50 ms, which quantized every
        // whole-process row (a 5 ms `emptcp --version` read as 55 ms). The termination handler
        // runs as soon as Foundation reaps the child.
        let exited = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in exited.signal() }
        let seconds = try time {
            try p.run()
            _ = err.fileHandleForReading.readDataToEndOfFile()
            exited.wait()
        }
        guard p.terminationStatus == 0 else { throw ValidationError("\(path) \(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        let peak = (try? String(contentsOfFile: rssFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (seconds, peak)
    }

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
