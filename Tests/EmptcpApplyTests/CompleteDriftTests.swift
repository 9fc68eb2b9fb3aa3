import CLibbpf
import EmptcpStore
import Foundation
import Logging
import Testing
@testable import EmptcpApply

/// Drift covers what the data path runs, not only the policy maps: a program-array slot deleted
/// by hand and a link whose pin was removed are reported by status and repaired by apply.
@Suite(.serialized) struct CompleteDriftTests {
    static let policy = Policy(
        selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or)], .tc: [SelectorStep(name: "tcp2", op: .or)]],
        chains: ["drop_ads": [.setRecvWin(window: 1600), .rmAddAddr]],
        bindings: [
            Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.1.1"), localPort: 5201, remote: IPAddress("10.0.1.2"),
                    remotePort: 40000), chain: "drop_ads"),
            Binding(BindingKey(hook: .tc, selector: .tcp2, local: IPAddress("10.0.1.1"), remote: IPAddress("10.0.1.2")), chain: "drop_ads"),
        ])

    @Test func deletedProgramArraySlotIsDriftAndApplyRestoresIt() throws {
        try withPolicyApplied("slot") { applier in
            #expect(try applier.status(policy: Self.policy).drift.isEmpty)

            // Delete the rm_add_addr slot as `bpftool map delete` would.
            let slot = EMPTCP_ACT_RM_ADD_ADDR.rawValue
            let actions = try PinnedMap(path: applier.layout.map("emptcp_x_acts"), name: "emptcp_x_acts")
            try actions.delete(MapEncoder.u32(slot))
            #expect(try actions.lookup(MapEncoder.u32(slot)) == nil)

            let drift = try applier.status(policy: Self.policy).drift
            #expect(drift.count == 1)
            #expect(drift.contains { $0.map == "emptcp_x_acts" && $0.key == "slot \(slot)" && $0.problem == .missing })

            let repair = try applier.apply(policy: Self.policy, revision: 1)
            #expect(repair.programSlots == 1 && repair.summary.contains("program arrays"))
            let pinned = try Sys.objectGet(applier.layout.prog(.xdp, "rm_add_addr"))
            let pinnedID = try Sys.programInfo(pinned, "rm_add_addr").id
            #expect(try actions.lookup(MapEncoder.u32(slot)).map { EntryText.u32($0) } == pinnedID)
            #expect(try applier.status(policy: Self.policy).drift.isEmpty)
            #expect(try applier.apply(policy: Self.policy, revision: 1).writes == 0)
        }
    }

    @Test func lostLinkIsDriftAndApplyAttachesItAgain() throws {
        try withPolicyApplied("link") { applier in
            // The tcx link's pin is its only holder: removing it detaches the program.
            try Sys.unlinkFile(applier.layout.link("a0", .tc))
            let drift = try applier.status(policy: Self.policy).drift
            #expect(drift.count == 1 && drift.first?.map == "links" && drift.first?.key == "a0/tc")

            let repair = try applier.apply(policy: Self.policy, revision: 1)
            #expect(repair.links == ["a0/tc"])
            let hooks = try applier.status(policy: Self.policy).interfaces.first?.hooks.map { "\($0.hook) \($0.mode)" }
            #expect(hooks == ["xdp generic", "tc tcx"])
            #expect(try applier.status(policy: Self.policy).drift.isEmpty)
        }
    }

    /// A fresh namespace with a0 attached (generic XDP, tcx) and `policy` applied as revision 1;
    /// `body` then breaks and repairs what the data path runs.
    private func withPolicyApplied(_ name: String, _ body: (Applier) throws -> Void) throws {
        let fx = try ApplierFixture(name)
        defer { fx.cleanup() }
        try fx.inNetns {
            let applier = fx.applier
            _ = try applier.attach(interface: "a0", xdpMode: .generic)
            defer { _ = try? applier.detach(interface: "a0") }
            _ = try applier.apply(policy: Self.policy, revision: 1)
            try body(applier)
        }
    }
}
