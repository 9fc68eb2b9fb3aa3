import CLibbpf
import EmptcpStore
import Foundation
import Testing
@testable import EmptcpApply

/// The applier on the real kernel: attach / apply / drift / detach in a private namespace with a
/// private bpffs pin root.
@Suite(.serialized) struct KernelTests {
    static let policy = MapEncoderTests.policy

    @Test func attachApplyIsIdempotentAndDetachUnpins() throws {
        let fx = try ApplierFixture("apply")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            #expect(!applier.isAttached())
            let first = try applier.attach(interface: "a0")
            #expect(!first.alreadyAttached)
            #expect(["native", "generic"].contains(first.xdpMode))
            #expect(first.tcMode == "tcx")
            #expect(applier.isAttached())
            #expect(PinRoot.isBPFFS(fx.pinRoot))

            // The kernel holds our links: XDP entry on a0, tcx egress.
            let linkInfo = try Sys.linkInfo(try Sys.objectGet(applier.layout.link("a0", .xdp)), "xdp link")
            let query = try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0")
            #expect(query.prog_id == linkInfo.programID)

            // Twice is a no-op.
            let again = try applier.attach(interface: "a0")
            #expect(again.alreadyAttached)

            // Apply writes the policy; reading the maps back gives exactly the encoding.
            let report = try applier.apply(policy: Self.policy, revision: 7)
            // 3 bindings, 2 chains, 2 selector chains (tcp defaults stay 0), and the prefilter words
            // holding the bindings' bits (raised before the bindings, counted as changed).
            let prefilterWords = report.maps.filter { $0.map.hasSuffix("_prefil") }.reduce(0) { $0 + $1.changed }
            #expect(prefilterWords >= 2) // at least one word per hook with tcp2/tcp4 bindings
            #expect(report.writes == 3 + 2 + 2 + prefilterWords)
            #expect(report.maps.first { $0.map == "emptcp_x_tcp2" } == MapCounts(map: "emptcp_x_tcp2", added: 1, removed: 0, changed: 0))
            let desired = try MapEncoder.encode(Self.policy)
            let current = try applier.liveContents().maps
            for id in MapID.all { #expect(current[id] ?? [:] == desired.table(id), "map \(id.name)") }

            // A second apply writes nothing.
            let second = try applier.apply(policy: Self.policy, revision: 7)
            #expect(second.writes == 0)
            #expect(second.previousRevision == 7)

            let status = try applier.status(policy: Self.policy)
            #expect(status.kernelRevision == 7)
            #expect(status.abiVersion == UInt64(EMPTCP_ABI_VERSION))
            #expect(status.drift.isEmpty)
            #expect(status.interfaces.map(\.name) == ["a0"])
            #expect(status.maps.first { $0.map == "emptcp_x_tcp2" }?.entries == 1)

            // Dropping a binding removes its entry and its chain on that hook.
            var smaller = Self.policy
            smaller.bindings.removeLast()
            let third = try applier.apply(policy: smaller, revision: 8)
            #expect(third.maps.first { $0.map == "emptcp_t_tcp2" } == MapCounts(map: "emptcp_t_tcp2", added: 0, removed: 1, changed: 0))
            #expect(third.maps.first { $0.map == "emptcp_t_chains" } == MapCounts(map: "emptcp_t_chains", added: 0, removed: 1, changed: 0))

            #expect(try applier.detach(interface: "a0"))
            #expect(!applier.isAttached())
            #expect(!Sys.exists(applier.layout.map(MapNames.meta)))
            #expect(!Sys.exists(applier.layout.prog(.xdp, "entry")))
            #expect(try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id == 0)
            #expect(try !applier.detach(interface: "a0"))
        }
    }

    @Test func driftIsReportedAndRepaired() throws {
        let fx = try ApplierFixture("drift")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0")
            _ = try applier.apply(policy: Self.policy, revision: 1)

            // Change a binding of the live generation behind emptcp's back (as bpftool would)
            // and add a stray one.
            let live = try applier.policyMaps().liveGeneration()
            let tcp2 = try PinnedMap(path: applier.layout.map("emptcp_x_tcp2"), name: "emptcp_x_tcp2")
            let key = Generation.key(try MapEncoder.tcp2Key(Self.policy.bindings[0]), .tcp2, live)
            try tcp2.update(key.bytes, MapEncoder.u32(12345))
            var stray = Self.policy.bindings[0]
            stray.key.remote = IPAddress("10.9.9.9")
            try tcp2.update(Generation.key(try MapEncoder.tcp2Key(stray), .tcp2, live).bytes, MapEncoder.u32(1))
            let sel = try PinnedMap(path: applier.layout.map("emptcp_t_selchn"), name: "emptcp_t_selchn")
            try sel.update(MapEncoder.u32(UInt32(live)), MapEncoder.selectorChainValue([]))

            let drift = try applier.status(policy: Self.policy).drift
            #expect(drift.count == 3)
            #expect(drift.contains { $0.map == "emptcp_x_tcp2" && $0.problem == .differs && $0.actual == "chain index 12345" && $0.expected == "chain slow" })
            #expect(drift.contains { $0.map == "emptcp_x_tcp2" && $0.problem == .unexpected && $0.key == "local=10.0.1.1 remote=10.9.9.9" })
            #expect(drift.contains { $0.map == "emptcp_t_selchn" && $0.problem == .differs })

            // The markers still say revision 1 is whole: a plain apply trusts them, --verify reads.
            let trusted = try applier.apply(policy: Self.policy, revision: 1)
            #expect(trusted.fastPath && trusted.writes == 0)
            #expect(try applier.status(policy: Self.policy).drift.count == 3)
            let repair = try applier.apply(policy: Self.policy, revision: 1, verify: true)
            #expect(repair.verified && !repair.fastPath)
            #expect(repair.maps.first { $0.map == "emptcp_x_tcp2" } == MapCounts(map: "emptcp_x_tcp2", added: 0, removed: 1, changed: 1))
            #expect(repair.maps.first { $0.map == "emptcp_t_selchn" } == MapCounts(map: "emptcp_t_selchn", added: 0, removed: 0, changed: 1))
            #expect(try applier.status(policy: Self.policy).drift.isEmpty)
            try applier.detach(interface: "a0")
        }
    }

    @Test func detachKeepsForeignClsactFilterAndTcxOrder() throws {
        let fx = try ApplierFixture("tcflt")
        defer { fx.cleanup() }
        try fx.sh("tc qdisc add dev a0 clsact && tc filter add dev a0 egress pref 7 bpf da obj \(fx.bpfDir)/tc/pass.o sec tc", inNetns: true)
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0")
            try applier.detach(interface: "a0")
        }
        let filters = try fx.sh("tc filter show dev a0 egress", inNetns: true)
        #expect(filters.contains("pass.o"), "foreign filter gone: \(filters)")
        let qdiscs = try fx.sh("tc qdisc show dev a0", inNetns: true)
        #expect(qdiscs.contains("clsact"))
    }

    @Test func foreignXDPIsRefusedAndNothingIsLeft() throws {
        let fx = try ApplierFixture("fxdp")
        defer { fx.cleanup() }
        try fx.sh("ip link set dev a0 xdpgeneric obj \(fx.bpfDir)/xdp/pass.o sec xdp", inNetns: true)
        try fx.inNetns {
            let applier = fx.applier
            let before = try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id
            #expect(before != 0)
            do {
                _ = try applier.attach(interface: "a0")
                Issue.record("attach over a foreign XDP program succeeded")
            } catch ApplyError.foreignXDP(let iface, let id) {
                #expect(iface == "a0" && id == before)
            }
            #expect(try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id == before)
            #expect(!applier.isAttached())
            #expect(!Sys.exists(applier.layout.linkDirectory("a0")))
            // The other interface still attaches.
            _ = try applier.attach(interface: "b0")
            try applier.detach(interface: "b0")
        }
    }

    @Test func unknownInterfaceAndNotLoaded() throws {
        let fx = try ApplierFixture("unkn")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            #expect(throws: ApplyError.self) { _ = try applier.attach(interface: "nosuch0") }
            #expect(!applier.isAttached())
            do {
                _ = try applier.apply(policy: Self.policy, revision: 1)
                Issue.record("apply without attach succeeded")
            } catch ApplyError.notLoaded {}
        }
    }

    @Test func verifierRejectionSavesTheLog() throws {
        let fx = try ApplierFixture("verif")
        defer { fx.cleanup() }
        // A copy of the objects whose tc set_recv_win reads past the packet without a bounds check.
        let dir = NSTemporaryDirectory() + "eapt-bad-\(fx.tag)"
        defer { _ = try? fx.sh("rm -rf \(dir)") }
        try fx.sh("mkdir -p \(dir) && cp -r \(fx.bpfDir)/xdp \(fx.bpfDir)/tc \(dir)/")
        let source = dir + "/bad.c"
        try """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        SEC("tc") int bad(struct __sk_buff *skb) { return *(volatile int *)(long)skb->data; }
        char LICENSE[] SEC("license") = "GPL";
        """.write(toFile: source, atomically: true, encoding: .utf8)
        try fx.sh("clang-14 -O2 -g -target bpf -idirafter /usr/include/$(uname -m)-linux-gnu -c \(source) -o \(dir)/tc/set_recv_win.o")
        try fx.inNetns {
            let applier = Applier(pinRoot: fx.pinRoot, bpfDir: dir, logDirectory: dir, logger: fx.logger)
            do {
                _ = try applier.attach(interface: "a0")
                Issue.record("a rejected program attached")
            } catch ApplyError.verifierRejected(let object, _, let logPath) {
                #expect(object == "tc/set_recv_win.o")
                let log = try String(contentsOfFile: logPath, encoding: .utf8)
                #expect(log.contains("invalid") || log.contains("R"), "log: \(log.prefix(300))")
                let line = "\(ApplyError.verifierRejected(object: object, cause: "x", logPath: logPath))"
                #expect(!line.contains("\n"))
            }
            #expect(!applier.isAttached())
            #expect(!Sys.exists(applier.layout.map(MapNames.meta)))
            #expect(try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id == 0)
        }
    }

    @Test func testRunOnThePinnedEntry() throws {
        let fx = try ApplierFixture("trun")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0")
            defer { _ = try? applier.detach(interface: "a0") }
            // Ethernet + IPv4 + TCP SYN, no binding: passes unchanged.
            var packet = [UInt8](repeating: 0, count: 14 + 20 + 20)
            packet[12] = 0x08
            packet[14] = 0x45; packet[16] = 0; packet[17] = 40; packet[22] = 64; packet[23] = 6
            packet[26...29] = [10, 0, 1, 2]; packet[30...33] = [10, 0, 1, 1]
            packet[46] = 0x50; packet[47] = 0x02
            let result = try testRun(progPath: applier.layout.prog(.xdp, "entry"), packet: packet, repeat: 1000)
            #expect(result.retval == 2) // XDP_PASS
            #expect(result.output == packet)
        }
    }
}

/// The clsact fall back (kernels without tcx), forced with `tcMode: .clsact`.
@Suite(.serialized) struct ClsactFallbackTests {
    @Test func clsactFilterOfOurOwnAndQdiscOnlyIfCreated() throws {
        let fx = try ApplierFixture("clsa")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            // No qdisc before: ours is created, then removed on detach.
            let result = try applier.attach(interface: "a0", tcMode: .clsact)
            #expect(result.tcMode == "clsact")
            #expect(try applier.attach(interface: "a0", tcMode: .clsact).alreadyAttached)
            #expect(try applier.status().interfaces.first?.hooks.map(\.mode).last == "clsact")
        }
        #expect(try fx.sh("tc filter show dev a0 egress", inNetns: true).contains("handle 0xe1"))
        try fx.inNetns { _ = try fx.applier.detach(interface: "a0") }
        #expect(try !fx.sh("tc qdisc show dev a0", inNetns: true).contains("clsact"))

        // A foreign qdisc and filter: both stay after our detach.
        try fx.sh("tc qdisc add dev a0 clsact && tc filter add dev a0 egress pref 7 bpf da obj \(fx.bpfDir)/tc/pass.o sec tc", inNetns: true)
        try fx.inNetns {
            _ = try fx.applier.attach(interface: "a0", tcMode: .clsact)
            #expect(try fx.sh("tc filter show dev a0 egress", inNetns: true).contains("handle 0xe1"))
            _ = try fx.applier.detach(interface: "a0")
        }
        let filters = try fx.sh("tc filter show dev a0 egress", inNetns: true)
        #expect(filters.contains("pass.o") && !filters.contains("handle 0xe1"), "\(filters)")
        #expect(try fx.sh("tc qdisc show dev a0", inNetns: true).contains("clsact"))
    }

    @Test func linksOutliveTheProcessAndAttachRestoresThem() throws {
        let fx = try ApplierFixture("boot")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0")
            _ = try applier.apply(policy: MapEncoderTests.policy, revision: 4)
            // A "reboot" of the links: unpinning releases the last reference, the kernel detaches.
            try Sys.unlinkFile(applier.layout.link("a0", .xdp))
            try Sys.unlinkFile(applier.layout.link("a0", .tc))
            // The kernel releases an unpinned link from a work queue, a moment later.
            try KernelWait.until { try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id == 0 }
            #expect(try Sys.xdpQuery(ifindex: Sys.interfaceIndex("a0")!, "a0").prog_id == 0)
            let again = try applier.attach(interface: "a0")
            #expect(!again.alreadyAttached)
            #expect(try applier.status(policy: MapEncoderTests.policy).drift.isEmpty)
            #expect(try applier.apply(policy: MapEncoderTests.policy, revision: 4).writes == 0)
            _ = try applier.detach(interface: "a0")
        }
    }
}
