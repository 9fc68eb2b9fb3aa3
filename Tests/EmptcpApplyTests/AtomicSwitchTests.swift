import EmptcpStore
import Foundation
import Logging
import Testing
@testable import EmptcpApply

/// A packet is handled wholly by one revision: under continuous BPF_PROG_TEST_RUN traffic on the
/// XDP entry, the policy switches 1,000 times between two revisions whose action chains mark the
/// packet's IPv4 TOS byte with two operator-module actors, each writing one half. Revision A marks
/// the flow 0x11 (its tcp2 binding, chain `c1` = hi 1 + lo 1); revision B marks it 0x44 (a tcp4
/// binding to `c2` = hi 4 + lo 4) while it rewrites `c1` to hi 2 + lo 2 and `c2` in A is hi 3 +
/// lo 3. So a packet that meets A's bindings with B's chains reads 0x22, B's bindings with A's
/// chains 0x33, and any other byte is a half-run chain or a missing binding: every marker other
/// than 0x11 and 0x44 is a mix. 1,000 filler bindings change chain with each switch and sort
/// before the flow's own tcp4 key, so an apply that writes in place leaves a long window.
@Suite(.serialized) struct AtomicSwitchTests {
    static let switches = Int(ProcessInfo.processInfo.environment["EMPTCP_ATOMIC_SWITCHES"] ?? "") ?? 1_000
    static let fillers = 1_000

    /// Sets one half of the IPv4 TOS byte to the low nibble of the actor's first parameter byte.
    static func markerSource(_ name: String, high: Bool) -> String {
        let update = high ? "(ip->tos & 0x0f) | (__u8)(*p << 4)" : "(ip->tos & 0xf0) | (*p & 0x0f)"
        return """
            #include <emptcp/xdp.h>
            #include <linux/ip.h>
            SEC("xdp")
            int \(name)(struct xdp_md *ctx)
            {
                struct emptcp_scratch *s = emptcp_scratch();
                void *end = emptcp_data_end(ctx);
                struct iphdr *ip;
                __u8 *p;

                if (!s)
                    return XDP_PASS;
                p = emptcp_act_param(s);
                ip = emptcp_data(ctx) + (s->pkt.l3_off & 0xff);
                if ((void *)(ip + 1) <= end)
                    ip->tos = \(update);
                return emptcp_act_next(ctx, s);
            }
            char LICENSE[] SEC("license") = "GPL";
            """
    }

    /// IPv4 TCP 10.0.1.2:40000 -> 10.0.1.1:5201 with TOS 0 (XDP local = destination).
    static let packet: [UInt8] = {
        var p = [UInt8](repeating: 0, count: 14 + 20 + 20)
        p[12] = 0x08
        p[14] = 0x45; p[17] = 40; p[22] = 64; p[23] = 6
        p[26...29] = [10, 0, 1, 2]; p[30...33] = [10, 0, 1, 1]
        p[34] = 0x9c; p[35] = 0x40; p[36] = 0x14; p[37] = 0x51
        p[46] = 0x50; p[47] = 0x10; p[48] = 0xff; p[49] = 0xff
        return p
    }()
    static let tosOffset = 15

    static func chain(_ hi: UInt64, _ lo: UInt64) -> [ActorCall] {
        [.module(name: "mark_hi", param: hi), .module(name: "mark_lo", param: lo)]
    }

    static func policy(_ b: Bool) -> Policy {
        let local = IPAddress("10.0.1.1"), remote = IPAddress("10.0.1.2")
        var bindings: [Binding] = []
        // The flow: A binds its address pair (tcp2 -> c1), B its 4-tuple (tcp4 -> c2) and the pair too.
        if b { bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: local, localPort: 5201, remote: remote, remotePort: 40000), chain: "c2")) }
        bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp2, local: local, remote: remote), chain: "c1"))
        // Fillers on other local ports (their keys sort before the flow's): c2 in A, c1 in B.
        for i in 0..<fillers {
            bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp4, local: local, localPort: UInt16(1000 + i), remote: remote,
                                    remotePort: 40000), chain: b ? "c1" : "c2"))
        }
        return Policy(selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or)]],
                      chains: ["c1": b ? chain(2, 2) : chain(1, 1), "c2": b ? chain(4, 4) : chain(3, 3)],
                      bindings: bindings)
    }

    /// Markers seen by the traffic thread, by TOS value.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var counts = [Int](repeating: 0, count: 256)
        private var stopped = false
        private var failure: String?

        func add(_ tos: UInt8) { lock.lock(); counts[Int(tos)] += 1; lock.unlock() }
        func fail(_ text: String) { lock.lock(); failure = failure ?? text; stopped = true; lock.unlock() }
        func stop() { lock.lock(); stopped = true; lock.unlock() }
        var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
        var snapshot: (counts: [Int], failure: String?) { lock.lock(); defer { lock.unlock() }; return (counts, failure) }
    }

    @Test func noPacketSeesAMixOfRevisions() throws {
        let fx = try ApplierFixture("atom")
        defer { fx.cleanup() }
        let work = NSTemporaryDirectory() + "emptcp-atomic-\(fx.tag)"
        defer { _ = try? Sys.run(["rm", "-rf", work]) }
        try Sys.makeDirectories(work)
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0", xdpMode: .generic)
            defer { _ = try? applier.detach(interface: "a0") }

            let manager = ModuleManager(pinRoot: fx.pinRoot, moduleDirectory: work + "/modules", logDirectory: work, logger: fx.logger)
            let catalog = MemoryCatalog()
            var slots = ModuleSlots()
            for (name, high) in [("mark_hi", true), ("mark_lo", false)] {
                let source = work + "/\(name).c", object = work + "/\(name).o"
                try Sys.writeFile(source, Self.markerSource(name, high: high))
                let cc = try Sys.run(["/usr/bin/clang-14", "-O2", "-g", "-target", "bpf", "-I", ApplierFixture.repo + "/bpf/include",
                                      "-idirafter", "/usr/include/x86_64-linux-gnu", "-c", source, "-o", object])
                try #require(cc.status == 0, "clang-14: \(cc.output)")
                let record = try manager.add(objectPath: object, hook: .xdp, name: name, kind: .actor, catalog: catalog)
                slots.actors[.xdp, default: [:]][name] = UInt8(record.slot)
            }

            let a = Self.policy(false), b = Self.policy(true)
            _ = try applier.apply(policy: a, revision: 1, modules: slots)
            let entry = applier.layout.prog(.xdp, "entry")
            #expect(try testRun(progPath: entry, packet: Self.packet, repeat: 1).output[Self.tosOffset] == 0x11)
            _ = try applier.apply(policy: b, revision: 2, modules: slots)
            #expect(try testRun(progPath: entry, packet: Self.packet, repeat: 1).output[Self.tosOffset] == 0x44)

            let tally = Tally()
            let done = DispatchSemaphore(value: 0)
            let packet = Self.packet
            let traffic = Thread {
                defer { done.signal() }
                while !tally.isStopped {
                    do {
                        let run = try testRun(progPath: entry, packet: packet, repeat: 1)
                        tally.add(run.output[Self.tosOffset])
                    } catch {
                        tally.fail("\(error)")
                    }
                }
            }
            traffic.start()
            var applyError: Error?
            for i in 0..<Self.switches {
                do {
                    _ = try applier.apply(policy: i % 2 == 0 ? a : b, revision: Int64(3 + i), modules: slots)
                } catch {
                    applyError = error
                    break
                }
            }
            tally.stop()
            done.wait()
            if let applyError { throw applyError }

            let (counts, failure) = tally.snapshot
            #expect(failure == nil, "traffic: \(failure ?? "")")
            let mixes = counts.enumerated().filter { $0.offset != 0x11 && $0.offset != 0x44 }.reduce(0) { $0 + $1.element }
            let seen = counts.enumerated().filter { $0.element > 0 }.map { "0x\(String($0.offset, radix: 16)): \($0.element)" }
            print("atomic switch: \(counts.reduce(0, +)) packets over \(Self.switches) switches; mixed: \(mixes); markers \(seen.joined(separator: ", "))")
            // The traffic ran under both revisions, so a mix had its chance.
            #expect(counts[0x11] > 0 && counts[0x44] > 0)
            #expect(mixes == 0, "packets with a marker of neither revision: \(seen)")
        }
    }
}
