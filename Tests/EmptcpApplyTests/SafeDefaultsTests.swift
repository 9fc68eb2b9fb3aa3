import Foundation
import Testing
@testable import EmptcpApply

/// Safe defaults of attach on the real kernel: `auto` takes generic XDP on veth (a virtual
/// device) and says why; `--all` leaves virtual devices out unless asked; a failed attach takes
/// back everything it did, the bpffs mount of the pin root included.
@Suite(.serialized) struct SafeDefaultsTests {
    @Test func autoPicksGenericXDPOnVethAndSaysWhy() throws {
        let fx = try ApplierFixture("gen")
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            let result = try applier.attach(interface: "a0")
            #expect(result.xdpMode == "generic")
            #expect(result.xdpNote == "a0 is a virtual device (veth)")
            // The kernel runs our program in the skb path, not in the driver.
            let query = try Sys.xdpQuery(ifindex: result.ifindex, "a0")
            #expect(query.skb_prog_id != 0 && query.drv_prog_id == 0)
            // An explicit mode is taken as asked.
            let native = try applier.attach(interface: "b0", xdpMode: .native)
            #expect(native.xdpMode == "native" && native.xdpNote == nil)
            try applier.detach(interface: "a0")
            try applier.detach(interface: "b0")
        }
    }

    @Test func allLeavesVirtualDevicesOutUnlessAsked() throws {
        let fx = try ApplierFixture("all")
        defer { fx.cleanup() }
        try fx.sh("ip link add br0 type bridge", inNetns: true)
        try fx.inNetns {
            #expect(DeviceClass.virtualDevice("a0") == "veth")
            #expect(DeviceClass.virtualDevice("br0") == "bridge")
            #expect(DeviceClass.virtualDevice("lo") != nil)
            let plain = Applier.allInterfaces()
            #expect(plain.targets.isEmpty)
            #expect(plain.skipped.map(\.name).sorted() == ["a0", "b0", "br0"])
            #expect(plain.skipped.first { $0.name == "a0" }?.reason == "a virtual device (veth)")
            let asked = Applier.allInterfaces(includeVirtual: true)
            #expect(asked.targets.sorted() == ["a0", "b0", "br0"] && asked.skipped.isEmpty)
        }
    }

    @Test func failedAttachTakesBackTheMountAndThePins() throws {
        let fx = try ApplierFixture("undo")
        defer { fx.cleanup() }
        try fx.sh("ip link set dev a0 xdpgeneric obj \(fx.bpfDir)/xdp/pass.o sec xdp", inNetns: true)
        #expect(!Sys.exists(fx.pinRoot))
        try fx.inNetns {
            let applier = fx.applier
            #expect(throws: ApplyError.self) { _ = try applier.attach(interface: "a0") }
        }
        // No bpffs left mounted at the pin root, no directory, so no pinned program or map.
        #expect(Sys.fileSystemType(fx.pinRoot) != bpffsMagic)
        #expect(!Sys.exists(fx.pinRoot))
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        #expect(!mounts.contains(fx.pinRoot))
    }
}
