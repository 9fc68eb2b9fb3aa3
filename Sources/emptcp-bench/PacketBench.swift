import ArgumentParser
import CLibbpf
import EmptcpApply
import EmptcpStore
import Foundation

/// Per-packet cost of the data plane under BPF_PROG_TEST_RUN (docs/sdk.md, "Verifier cost and
/// per-packet cost").
///
/// For each hook (xdp, tc) and family (4, 6) it loads the bare pass program and our programs into
/// a private bpffs, then times, in every repetition and in the same order: the pass program (the
/// floor), the entry program with no selector chain and with no binding for the packet, k+k
/// chains (k = 1, 2, 4, 8), selector-only and actor-only series for the slopes, each actor alone,
/// and the removal of an ADD_ADDR with its ring-buffer report. Runs go through the applier's
/// public `testRun(progPath:packet:repeat:)`. Each figure is also a ratio to the
/// floor of the same repetition. Benchmarks are never asserted.
struct PacketBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packet",
        abstract: "ns/packet of pass, entry and chains under BPF_PROG_TEST_RUN, as ratios to the pass program."
    )

    @Option(help: "Folder with xdp/*.o and tc/*.o (default: $EMPTCP_BPF_DIR, else ./build/bpf).")
    var bpfDir: String?

    @Option(name: .customLong("repeat"), help: "BPF_PROG_TEST_RUN repeat count per measurement.")
    var repeatCount: Int = 1_000_000

    @Option(help: "Repetitions of the whole sequence (min/median/max over these).")
    var reps: Int = 5

    @Option(help: "Hooks, comma separated.")
    var hooks: String = "xdp,tc"

    @Option(help: "Address families, comma separated.")
    var families: String = "4,6"

    @Option(help: "Write every measurement as JSON to this file.")
    var json: String?

    @Option(help: "Where to create the private bpffs.")
    var workDir: String = "/tmp"

    func validate() throws {
        if repeatCount < 1 { throw ValidationError("--repeat must be at least 1") }
        if reps < 1 { throw ValidationError("--reps must be at least 1") }
    }

    func run() throws {
        let dir = bpfDir ?? ProcessInfo.processInfo.environment["EMPTCP_BPF_DIR"] ?? "build/bpf"
        var all: [PacketResult] = []
        for hook in hooks.split(separator: ",").map(String.init) {
            for fam in families.split(separator: ",").compactMap({ Int($0) }) {
                let kernel = try BenchPinRoot(workDir: workDir)
                let bench = try HookBench(kernel: kernel, hook: hook, family: fam, bpfDir: dir)
                let results = try bench.measure(repeatCount: repeatCount, reps: reps)
                all += results
                for r in results { print(r.line) }
            }
        }
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            let doc = PacketReport(repeatCount: repeatCount, reps: reps, results: all)
            try enc.encode(doc).write(to: URL(fileURLWithPath: json))
        }
    }
}

struct PacketReport: Codable {
    var repeatCount: Int
    var reps: Int
    var results: [PacketResult]
}

struct PacketResult: Codable {
    var hook: String
    var family: Int
    var group: String
    var name: String
    var selectors: Int
    var actors: [String]
    var ns: [Double]
    var ratio: [Double]
    var retval: UInt32
    var check: String

    var line: String {
        let s = ns.sorted(), r = ratio.sorted()
        let med = s[s.count / 2], rmed = r[r.count / 2]
        let name = self.name.padding(toLength: 40, withPad: " ", startingAt: 0)
        return "\(hook) ipv\(family) \(name) " + String(format: "%8.1f ns  (min %.1f, max %.1f)  %5.2fx  %@",
                                                            med, s.first!, s.last!, rmed, check)
    }
}

/// One actor call in a chain: the actor's object name and its 8-byte parameter block.
private struct ActorCall {
    var name: String
    var param: UInt64

    static func named(_ name: String) -> ActorCall {
        switch name {
        case "set_recv_win": return ActorCall(name: name, param: 1600)  // window u16 LE in byte 0-1
        case "set_flow_prio": return ActorCall(name: name, param: 1)     // backup = 1
        case "record": return ActorCall(name: name, param: UInt64(EMPTCP_RECORD_PKT | EMPTCP_RECORD_FLOW | EMPTCP_RECORD_RTT))
        default: return ActorCall(name: name, param: 0)
        }
    }
}

private enum PacketKind { case ack, addAddr }

private struct Scenario {
    var group: String
    var name: String
    var passProgram = false
    var selectors: [(slot: UInt8, op: UInt8)] = []
    var bound = false
    /// Bound to a chain index that holds no chain: the packet is parsed and its binding found
    /// (one hash lookup that hits, one array index), and no actor runs.
    var boundToNothing = false
    var actors: [ActorCall] = []
    var packet: PacketKind = .ack
}

/// The built-in objects' program-array slots, as the applier fills them.
private let actorSlots = Loader.actorSlots.mapValues { UInt8($0) }
private let selectorSlots = Loader.selectorSlots.mapValues { UInt8($0) }
private let tcp2 = UInt8(EMPTCP_SEL_TCP2.rawValue), tcp4 = UInt8(EMPTCP_SEL_TCP4.rawValue)
private let opOr = UInt8(EMPTCP_OP_OR.rawValue), opAnd = UInt8(EMPTCP_OP_AND.rawValue)
private let maxSel = Int(EMPTCP_MAX_SELECTORS), maxAct = Int(EMPTCP_MAX_ACTORS)

/// Everything of one hook and family: programs, maps, frames and the scenario list.
private final class HookBench {
    let kernel: BenchPinRoot
    let hook: String
    let family: Int
    let passPath: String
    let entryPath: String
    var actorNames: [String] = []
    var skipped: [String] = []
    let ackFrame: [UInt8]
    let addAddrFrame: [UInt8]
    let local: BenchFrames.Endpoint
    let remote: BenchFrames.Endpoint

    init(kernel: BenchPinRoot, hook: String, family: Int, bpfDir: String) throws {
        self.kernel = kernel
        self.hook = hook
        self.family = family
        let dir = "\(bpfDir)/\(hook)"
        passPath = "\(kernel.pinRoot)/\(hook)_pass"
        entryPath = "\(kernel.pinRoot)/\(hook)_entry"
        try kernel.load(bpfDir, hook: hook, object: "pass", pinName: "\(hook)_pass")
        try kernel.load(bpfDir, hook: hook, object: "entry", pinName: "\(hook)_entry")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for (name, slot) in selectorSlots.sorted(by: { $0.value < $1.value }) where files.contains("\(name).o") {
            try kernel.load(bpfDir, hook: hook, object: name, slot: (Self.map(hook, "sels"), UInt32(slot)))
        }
        for (name, slot) in actorSlots.sorted(by: { $0.value < $1.value }) where files.contains("\(name).o") {
            // An actor that does not load is reported and left out; the rest is still measured.
            do {
                try kernel.load(bpfDir, hook: hook, object: name, slot: (Self.map(hook, "acts"), UInt32(slot)))
                actorNames.append(name)
            } catch {
                FileHandle.standardError.write(Data("packet: \(hook) actor \(name) left out: \(error)\n".utf8))
                skipped.append(name)
            }
        }
        // The client of the lab: XDP sees the server's segments arriving (local = destination),
        // TC the client's own leaving (local = source).
        let client: [UInt8], server: [UInt8]
        if family == 4 {
            client = BenchFrames.v4(10, 0, 1, 1)
            server = BenchFrames.v4(10, 0, 1, 2)
        } else {
            client = BenchFrames.v6([0xfd00, 0, 1, 0, 0, 0, 0, 1])
            server = BenchFrames.v6([0xfd00, 0, 1, 0, 0, 0, 0, 2])
        }
        local = BenchFrames.Endpoint(addr: client, port: 40000)
        remote = BenchFrames.Endpoint(addr: server, port: 5201)
        let (src, dst) = hook == "xdp" ? (remote, local) : (local, remote)
        ackFrame = BenchFrames.tcp(src: src, dst: dst, options: BenchFrames.timestamps + BenchFrames.dssAck)
        let announced = family == 4 ? BenchFrames.v4(10, 0, 2, 2) : BenchFrames.v6([0xfd00, 0, 2, 0, 0, 0, 0, 2])
        addAddrFrame = BenchFrames.tcp(src: src, dst: dst, options: BenchFrames.timestamps + BenchFrames.addAddr(announced))
    }

    // MARK: scenarios

    func scenarios() -> [Scenario] {
        var list: [Scenario] = []
        list.append(Scenario(group: "floor", name: "pass (bare program)", passProgram: true))
        list.append(Scenario(group: "entry", name: "entry, empty selector chain"))
        list.append(Scenario(group: "entry", name: "entry, tcp4 selector, no binding", selectors: [(tcp4, opOr)]))
        // The floor under the matching row: parse plus the one binding lookup of its selector.
        list.append(Scenario(group: "lookup", name: "parse + one lookup: tcp2 binding, no actor", selectors: [(tcp2, opOr)],
                             boundToNothing: true))
        let mixed = ["set_recv_win", "rm_add_addr"].filter(actorNames.contains)
        if mixed.count == 2 {
            // The original's reference figure: one selector, a matching packet, [set_recv_win, rm_add_addr].
            list.append(Scenario(group: "chain", name: "tcp2 + [set_recv_win, rm_add_addr]", selectors: [(tcp2, opOr)],
                                 bound: true, actors: mixed.map(ActorCall.named)))
        }
        if !mixed.isEmpty {
            for k in [1, 2, 4, maxSel] {
                let sel = k == 1 ? [(tcp2, opOr)] : (0..<k).map { ($0 % 2 == 0 ? tcp4 : tcp2, opAnd) }
                let act = (0..<min(k, maxAct)).map { ActorCall.named(mixed[$0 % mixed.count]) }
                let label = k == maxSel ? "chain \(k)+\(act.count) (longest)" : "chain \(k)+\(act.count)"
                list.append(Scenario(group: "chain", name: label, selectors: sel, bound: true, actors: act))
            }
        }
        if actorNames.contains("set_recv_win") {
            for k in 1...maxSel {
                let sel = (0..<k).map { ($0 % 2 == 0 ? tcp4 : tcp2, k == 1 ? opOr : opAnd) }
                list.append(Scenario(group: "sel-scale", name: "selectors \(k) + set_recv_win", selectors: sel,
                                     bound: true, actors: [.named("set_recv_win")]))
            }
            for k in 1...maxAct {
                list.append(Scenario(group: "act-scale", name: "tcp2 + \(k) x set_recv_win", selectors: [(tcp2, opOr)],
                                     bound: true, actors: Array(repeating: .named("set_recv_win"), count: k)))
            }
        }
        for name in actorNames {
            list.append(Scenario(group: "actor", name: "actor \(name) alone", selectors: [(tcp2, opOr)],
                                 bound: true, actors: [.named(name)]))
        }
        if actorNames.contains("rm_add_addr") {
            // Only ingress reports a removal (the ADD_ADDR a peer sent); egress removes silently.
            let what = hook == "xdp" ? "ADD_ADDR drop + report read by a consumer" : "ADD_ADDR drop (egress: no report)"
            list.append(Scenario(group: "add_addr", name: "rm_add_addr: \(what)",
                                 selectors: [(tcp2, opOr)], bound: true, actors: [.named("rm_add_addr")],
                                 packet: .addAddr))
        }
        return list
    }

    // MARK: map set-up

    private func setSelectors(_ steps: [(slot: UInt8, op: UInt8)]) throws {
        var chain = emptcp_selector_chain()
        chain.len = UInt8(steps.count)
        // Measured as `emptcp apply` writes it: the binding prefilter on (bits set in bindings()).
        if kernel.hasMap(prefilterMap) { chain.flags = UInt8(EMPTCP_SEL_F_PREFILTER) }
        withUnsafeMutableBytes(of: &chain.steps) { raw in
            for (i, s) in steps.enumerated() {
                raw[2 * i] = s.slot
                raw[2 * i + 1] = s.op
            }
        }
        try kernel.update(Self.map(hook, "selchn"), key: UInt32(0), value: chain)
    }

    private func setChain(id: UInt32, _ actors: [ActorCall]) throws {
        var chain = emptcp_action_chain()
        chain.len = UInt8(actors.count)
        withUnsafeMutableBytes(of: &chain.actors) { raw in
            let stride = MemoryLayout<emptcp_actor_call>.stride
            for (i, a) in actors.enumerated() {
                var call = emptcp_actor_call()
                call.slot = actorSlots[a.name] ?? 0
                call.param.raw = a.param.littleEndian
                withUnsafeBytes(of: &call) { src in
                    raw.baseAddress!.advanced(by: i * stride).copyMemory(from: src.baseAddress!, byteCount: stride)
                }
            }
        }
        // emptcp_<h>_chains[generation 0 * EMPTCP_CHAIN_SLOTS + index]
        try kernel.update(Self.map(hook, "chains"), key: id, value: chain)
    }

    /// Binds the bench flow (tcp2 and tcp4) to `chainID`, or leaves it unbound (nil). The
    /// prefilter words of its keys follow, as the applier keeps them: set when bound, clear when not.
    private func bindings(_ chainID: UInt32?) throws {
        try kernel.clear(Self.map(hook, "tcp2"))
        try kernel.clear(Self.map(hook, "tcp4"))
        let af = UInt8(family == 4 ? EMPTCP_AF_INET : EMPTCP_AF_INET6)
        var k2 = emptcp_tcp2_key()
        k2.family = af
        withUnsafeMutableBytes(of: &k2.local) { $0.copyBytes(from: local.addr) }
        withUnsafeMutableBytes(of: &k2.remote) { $0.copyBytes(from: remote.addr) }
        var k4 = emptcp_tcp4_key()
        k4.family = af
        k4.local_port = local.port.bigEndian
        k4.remote_port = remote.port.bigEndian
        withUnsafeMutableBytes(of: &k4.local) { $0.copyBytes(from: local.addr) }
        withUnsafeMutableBytes(of: &k4.remote) { $0.copyBytes(from: remote.addr) }
        if let chainID {
            try kernel.update(Self.map(hook, "tcp2"), key: k2, value: chainID)
            try kernel.update(Self.map(hook, "tcp4"), key: k4, value: chainID)
        }
        if kernel.hasMap(prefilterMap) {
            try setPrefilterBit(of: k2, chainID != nil)
            try setPrefilterBit(of: k4, chainID != nil)
        }
    }

    private var prefilterMap: String { Self.map(hook, "prefil") }
    /// The kernel name of this hook's map `short` (docs/architecture.md, "Kernel object names").
    private static func map(_ hook: String, _ short: String) -> String { Hook(rawValue: hook)!.kernelName(short) }

    /// Sets or clears a key's bit, computed by the applier's own `Prefilter.bit`.
    private func setPrefilterBit<K>(of key: K, _ on: Bool) throws {
        let bit = Prefilter.bit(MapKey(withUnsafeBytes(of: key) { Array($0) }))
        let word = bit >> 6
        var bits = try kernel.lookup(prefilterMap, key: word, as: UInt64.self) ?? 0
        let mask: UInt64 = 1 << UInt64(bit & 63)
        bits = on ? bits | mask : bits & ~mask
        try kernel.update(prefilterMap, key: word, value: bits)
    }

    private func prepare(_ s: Scenario) throws {
        try setSelectors(s.selectors)
        if s.bound {
            try setChain(id: 1, s.actors)
            try bindings(1)
        } else if s.boundToNothing {
            try setChain(id: 1, [])
            try bindings(1)
        } else {
            try bindings(nil)
        }
    }

    // MARK: measuring

    private let ring = "emptcp_events"

    /// One measurement of `repeatCount` packets. Scenarios that write a ring-buffer record per
    /// packet (ADD_ADDR removal, recover_add_addr) run in batches that fit the ring buffer,
    /// drained between batches, so every report is really written (never the cheaper full path).
    /// The ADD_ADDR removal counts its consumer too, as the original's figure did: the time to
    /// read every record of a batch out of the ring is added, and a record missing is an error.
    private func time(_ s: Scenario, repeatCount: Int) throws -> (ns: Double, retval: UInt32) {
        let prog = s.passProgram ? passPath : entryPath
        let frame = s.packet == .addAddr ? addAddrFrame : ackFrame
        // Only ingress reports a removal, so only there is its consumer counted.
        let removalReported = s.packet == .addAddr && hook == "xdp"
        let reports = removalReported || s.actors.contains { $0.name == "recover_add_addr" }
        if reports && kernel.hasMap(ring) {
            let batch = min(repeatCount, 4096)
            var left = repeatCount, total = 0.0
            var retval: UInt32 = 0
            let clock = ContinuousClock()
            _ = try kernel.drainRing(ring)
            while left > 0 {
                let n = min(batch, left)
                let r = try testRun(progPath: prog, packet: frame, repeat: UInt32(n))
                total += Double(r.durationNs) * Double(n)
                retval = r.retval
                left -= n
                var read = 0
                let consumer = try clock.measure { read = try kernel.drainRing(ring) }
                if removalReported {
                    guard read == n else { throw BenchFailure("\(hook) \(s.name): \(read) of \(n) records read") }
                    total += Double(consumer.components.attoseconds) / 1e9 + Double(consumer.components.seconds) * 1e9
                }
            }
            return (total / Double(repeatCount), retval)
        }
        let r = try testRun(progPath: prog, packet: frame, repeat: UInt32(repeatCount))
        return (Double(r.durationNs), r.retval)
    }

    /// One packet through the scenario, reading counters around it: did it take the chain, did
    /// any tail call fail, how many reports were written.
    private func check(_ s: Scenario) throws -> String {
        if s.passProgram { return "" }
        let name = Self.map(hook, "counts"), n = Int(EMPTCP_CNT_MAX.rawValue)
        if kernel.hasMap(ring) { _ = try kernel.drainRing(ring) }
        let before = try kernel.counters(name, count: n)
        _ = try testRun(progPath: entryPath, packet: s.packet == .addAddr ? addAddrFrame : ackFrame, repeat: 1)
        let after = try kernel.counters(name, count: n)
        let reports = kernel.hasMap(ring) ? try kernel.drainRing(ring) : 0
        func d(_ c: emptcp_counter) -> UInt64 { after[Int(c.rawValue)] &- before[Int(c.rawValue)] }
        var notes: [String] = []
        let target = d(EMPTCP_CNT_TARGET)
        if s.bound && target == 0 { notes.append("WARNING: chain not taken") }
        if s.boundToNothing && d(EMPTCP_CNT_NO_CHAIN) != 1 { notes.append("WARNING: binding not found") }
        if !s.bound && target != 0 { notes.append("WARNING: unexpected target") }
        if d(EMPTCP_CNT_TAIL_CALL_FAIL) != 0 { notes.append("WARNING: tail call failed") }
        if after[Int(EMPTCP_CNT_RINGBUF_FULL.rawValue)] != 0 { notes.append("WARNING: ring buffer was full") }
        if d(EMPTCP_CNT_MALFORMED) != 0 || d(EMPTCP_CNT_NOT_TCP) != 0 { notes.append("WARNING: frame not parsed") }
        if s.packet == .addAddr {
            notes.append("reports=\(reports) dropped=\(d(EMPTCP_CNT_ADD_ADDR_DROPPED)) nopped=\(d(EMPTCP_CNT_ADD_ADDR_NOPPED))")
        }
        return notes.joined(separator: " ")
    }

    func measure(repeatCount: Int, reps: Int) throws -> [PacketResult] {
        let list = scenarios()
        var ns = [[Double]](repeating: [], count: list.count)
        var ratio = [[Double]](repeating: [], count: list.count)
        var retvals = [UInt32](repeating: 0, count: list.count)
        var checks = [String](repeating: "", count: list.count)
        for (i, s) in list.enumerated() {
            try prepare(s)
            checks[i] = try check(s)
        }
        for _ in 0..<reps {
            var floor = 0.0
            for (i, s) in list.enumerated() {
                try prepare(s)
                let (t, rv) = try time(s, repeatCount: repeatCount)
                if s.passProgram { floor = t }
                ns[i].append(t)
                ratio[i].append(floor > 0 ? t / floor : 0)
                retvals[i] = rv
            }
        }
        return list.enumerated().map { i, s in
            PacketResult(hook: hook, family: family, group: s.group, name: s.name, selectors: s.selectors.count,
                         actors: s.actors.map(\.name), ns: ns[i], ratio: ratio[i], retval: retvals[i], check: checks[i])
        }
    }
}
