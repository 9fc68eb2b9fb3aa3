import EmptcpStore
import Testing
@testable import EmptcpApply

private let c1 = IPAddress("10.0.1.1")!, s1 = IPAddress("10.0.1.2")!, c2 = IPAddress("10.0.2.1")!, s2 = IPAddress("10.0.2.2")!

private func xdp(_ local: IPAddress, _ remote: IPAddress, _ chain: String) -> Binding {
    Binding(BindingKey(hook: .xdp, selector: .tcp2, local: local, remote: remote), chain: chain)
}

@Suite struct LiveRepairPlannerTests {
    let strip = Policy(selectors: [.xdp: [SelectorStep(name: "tcp2", op: .or)]], chains: ["s": [.rmAddAddr]], bindings: [xdp(c1, s1, "s")])
    let mark = Policy(selectors: [.xdp: [SelectorStep(name: "tcp2", op: .or)]], chains: ["b": [.setFlowPrio(backup: true, addrId: nil)]],
                      bindings: [xdp(c1, s1, "b"), xdp(c2, s2, "b")])
    let neutral = Policy()

    @Test func strippingStoppedRedeliversAndBackupRemovedClears() {
        #expect(LiveRepairPlanner.repairs(from: strip, to: neutral) == [LiveRepair(kind: .redeliverAddAddr, match: xdp(c1, s1, "s").key)])
        #expect(LiveRepairPlanner.repairs(from: mark, to: neutral).map(\.kind) == [.clearBackup, .clearBackup])
        #expect(Set(LiveRepairPlanner.repairs(from: mark, to: neutral).map(\.match)) == [xdp(c1, s1, "b").key, xdp(c2, s2, "b").key])
    }

    @Test func nothingUndoneNothingQueued() {
        #expect(LiveRepairPlanner.repairs(from: nil, to: strip).isEmpty)          // first apply
        #expect(LiveRepairPlanner.repairs(from: neutral, to: strip).isEmpty)      // starts stripping
        #expect(LiveRepairPlanner.repairs(from: strip, to: strip).isEmpty)
        // The same key moved to another chain that still strips: nothing undone.
        var renamed = strip
        renamed.chains = ["other": [.setRecvWin(window: 100), .rmAddAddr]]
        renamed.bindings = [xdp(c1, s1, "other")]
        #expect(LiveRepairPlanner.repairs(from: strip, to: renamed).isEmpty)
        // TC stripping is the peer's view: no live repair of our stack.
        let tc = Policy(selectors: [.tc: [SelectorStep(name: "tcp2", op: .or)]], chains: ["s": [.rmAddAddr]],
                        bindings: [Binding(BindingKey(hook: .tc, selector: .tcp2, local: c1, remote: s1), chain: "s")])
        #expect(LiveRepairPlanner.repairs(from: tc, to: neutral).isEmpty)
    }

    @Test func recoverBoundRedelivers() {
        var recovering = strip
        recovering.chains = ["s": [.recoverAddAddr, .rmAddAddr]]
        #expect(LiveRepairPlanner.repairs(from: strip, to: recovering).map(\.kind) == [.redeliverAddAddr])
        let fresh = Policy(selectors: strip.selectors, chains: ["r": [.recoverAddAddr]], bindings: [xdp(c2, s2, "r")])
        #expect(LiveRepairPlanner.repairs(from: neutral, to: fresh).map(\.kind) == [.redeliverAddAddr])
    }

    @Test func subflowMatching() {
        let sub = SubflowKey(local: c1, localPort: 40000, remote: s1, remotePort: 5201)
        #expect(LiveRepairPlanner.matches(xdp(c1, s1, "x").key, sub))
        #expect(!LiveRepairPlanner.matches(xdp(c2, s2, "x").key, sub))
        #expect(LiveRepairPlanner.matches(BindingKey(hook: .xdp, selector: .tcp), sub))
        let tcp4 = BindingKey(hook: .xdp, selector: .tcp4, local: c1, localPort: 40000, remote: s1, remotePort: 5202)
        #expect(!LiveRepairPlanner.matches(tcp4, sub))
        #expect(SubflowKey(parsing: sub.description) == sub)
        #expect(SubflowKey(ingress: sub.ingress) == sub)
    }
}

@Suite struct OutcomeWatcherTests {
    let sub = SubflowKey(local: c1, localPort: 40000, remote: s1, remotePort: 5201)

    @Test func seenNotSeenAndOnlyMatchingEvents() {
        let watcher = OutcomeWatcher()
        var outcomes: [InjectionOutcome] = []
        watcher.expect(.subflowJoined(token: 7, remote: s2), sentNs: 1_000_000, deadlineNs: 11_000_000) { outcomes.append($0) }
        watcher.expect(.priority(token: 7, subflow: sub, backup: false), sentNs: 1_000_000, deadlineNs: 11_000_000) { outcomes.append($0) }
        // Another connection's join, and a priority change to backup, do not count.
        watcher.observe(MptcpPmEvent(kind: .subEstablished, token: 8, remote: s2), nowNs: 2_000_000)
        watcher.observe(MptcpPmEvent(kind: .subPriority, token: 7, local: c1, localPort: 40000, remote: s1, remotePort: 5201, backup: true), nowNs: 2_000_000)
        #expect(outcomes.isEmpty && watcher.inFlight == 2)
        watcher.observe(MptcpPmEvent(kind: .subEstablished, token: 7, local: c2, localPort: 1, remote: s2, remotePort: 5201), nowNs: 4_000_000)
        #expect(outcomes == [.seen(event: "SUB_ESTABLISHED", afterMs: 3)])
        #expect(watcher.nextDeadlineNs == 11_000_000)
        watcher.expire(nowNs: 10_999_999)
        #expect(outcomes.count == 1)
        watcher.expire(nowNs: 11_000_000)
        #expect(outcomes.last == .notSeen(event: "SUB_PRIORITY", withinMs: 10) && watcher.inFlight == 0)
        #expect(!outcomes.last!.isSeen && outcomes.last!.description == "not seen: no SUB_PRIORITY within 10 ms")
    }
}

@Suite struct NetlinkCodecTests {
    @Test func attributesRoundTripWithPaddingAndNesting() {
        var inner = NetlinkAttributeWriter()
        inner.put(1, u16: 2)
        inner.put(3, [10, 0, 2, 2])
        inner.put(5, u16: 5201)
        var outer = NetlinkAttributeWriter()
        outer.put(4, u32: 0xdead_beef)
        outer.nest(1, inner)
        outer.put(9, string: "mptcp_pm")
        #expect(outer.bytes.count % 4 == 0)
        let parsed = NetlinkAttributes(outer.bytes[...])
        #expect(parsed.u32(4) == 0xdead_beef)
        #expect(parsed.nested(1)?.u16(5) == 5201 && parsed.nested(1)?[3].map(Array.init) == [10, 0, 2, 2])
        #expect(parsed[9].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } == "mptcp_pm")
        // The nested flag is set on the wire and masked when parsed.
        #expect(readLE16(outer.bytes[...], 10) == 0x8001)
    }

    @Test func messagesSplitAndErrorsDecoded() {
        let a = NetlinkMessage.encode(type: 30, flags: 0, sequence: 5, payload: [1, 2, 3])
        let padded = a + [0]  // messages are 4-byte aligned
        let err = NetlinkMessage.encode(type: NetlinkMessage.typeError, flags: 0, sequence: 6, payload: le32(UInt32(bitPattern: -22)) + [UInt8](repeating: 0, count: 16))
        let messages = NetlinkMessage.split((padded + err)[...])
        #expect(messages.count == 2)
        #expect(messages[0].type == 30 && messages[0].sequence == 5 && Array(messages[0].payload) == [1, 2, 3])
        #expect(messages[1].errorCode?.code == 22)
        #expect(NetlinkMessage.split(a.dropLast(1)[...]).isEmpty)  // truncated: ignored
    }

    @Test func pathManagerEventDecoded() throws {
        var w = NetlinkAttributeWriter()
        w.put(MptcpPmEvent.attrToken, u32: 0x1234_5678)
        w.put(MptcpPmEvent.attrFamily, u16: 2)
        w.put(MptcpPmEvent.attrSaddr4, [10, 0, 1, 1])
        w.put(MptcpPmEvent.attrDaddr4, [10, 0, 1, 2])
        w.put(MptcpPmEvent.attrSport, be16: 40000)
        w.put(MptcpPmEvent.attrDport, be16: 5201)
        w.put(MptcpPmEvent.attrBackup, u8: 0)
        let e = try #require(MptcpPmEvent(command: 13, attributes: NetlinkAttributes(w.bytes[...])))
        #expect(e.kind == .subPriority && e.token == 0x1234_5678 && e.backup == false)
        #expect(e.subflow == SubflowKey(local: c1, localPort: 40000, remote: s1, remotePort: 5201))
        #expect(e.text == "SUB_PRIORITY token=12345678 10.0.1.1:40000-10.0.1.2:5201 backup=0")
        #expect(MptcpPmEvent(command: 3, attributes: NetlinkAttributes([][...])) == nil)  // no token
    }

    @Test func subflowDiagMessageParsed() throws {
        var msg: [UInt8] = [2, 1, 0, 0] + [0x9c, 0x40, 0x14, 0x51] + [10, 0, 1, 1] + [UInt8](repeating: 0, count: 12)
        msg += [10, 0, 1, 2] + [UInt8](repeating: 0, count: 12) + [UInt8](repeating: 0, count: 4 + 8 + 20)
        #expect(msg.count == 72)
        var mptcp = NetlinkAttributeWriter()
        mptcp.put(2, u32: 0xabcd)
        mptcp.put(8, u32: 1 << 4)
        mptcp.put(10, u8: 0)
        var ulp = NetlinkAttributeWriter()
        ulp.put(1, string: "mptcp")
        ulp.nest(3, mptcp)
        var attrs = NetlinkAttributeWriter()
        attrs.nest(19, ulp)
        let info = try #require(SubflowDiag.subflow((msg + attrs.bytes)[...]))
        #expect(info.subflow == SubflowKey(local: c1, localPort: 40000, remote: s1, remotePort: 5201))
        #expect(info.token == 0xabcd && info.peerBackup && !info.localBackup)
        #expect(SubflowDiag.subflow(msg[...]) == nil)  // plain TCP: no MPTCP attributes
    }
}
