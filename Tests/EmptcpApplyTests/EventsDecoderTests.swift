import CLibbpf
import EmptcpStore
import Testing
@testable import EmptcpApply

/// Records built with the abi.h structs themselves, as the BPF side writes them.
private func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

private func header(type: emptcp_event_type, size: Int, v6: Bool = false, version: UInt16 = UInt16(EMPTCP_EVENT_VERSION)) -> emptcp_event_hdr {
    var h = emptcp_event_hdr()
    h.version = version
    h.type = UInt16(type.rawValue)
    h.len = UInt16(size)
    h.hook = 1
    h.ifindex = 7
    h.ts_ns = 123_456
    let src = IPAddress(v6 ? "fd00::2" : "10.0.1.2")!
    let dst = IPAddress(v6 ? "fd00::1" : "10.0.1.1")!
    h.flow = EventDecoder.flowKey(EventFlow(source: src, sourcePort: 40000, destination: dst, destinationPort: 5201))
    return h
}

@Suite struct EventsDecoderTests {
    @Test func mpCapableWithBothKeys() {
        var e = emptcp_ev_mptcp()
        e.hdr = header(type: EMPTCP_EV_MP_CAPABLE, size: MemoryLayout<emptcp_ev_mptcp>.size)
        e.subtype_flags = 0x01
        e.tcp_flags = 0x10
        e.has_local_key = 1
        e.has_remote_key = 1
        e.local_key = UInt64(0x0102_0304_0506_0708).bigEndian
        e.remote_key = UInt64(0xd0a1_b2c3_e4f5_0617).bigEndian
        guard case .mpCapable(let h, let s) = EventDecoder.decode(bytes(e)) else { Issue.record("not MP_CAPABLE"); return }
        #expect(h.hook == "tc")
        #expect(h.ifindex == 7)
        #expect(h.flow?.description == "10.0.1.2:40000 > 10.0.1.1:5201")
        #expect(s.senderKey == 0x0102_0304_0506_0708)
        #expect(s.senderToken == 0x6684_0dda)
        #expect(s.receiverToken == 0x4ef0_ed31)
        #expect(s.token == nil)
    }

    @Test func mpJoinTokenAndIPv6() {
        var e = emptcp_ev_mptcp()
        e.hdr = header(type: EMPTCP_EV_MP_JOIN, size: MemoryLayout<emptcp_ev_mptcp>.size, v6: true)
        e.token = UInt32(0xdead_beef).bigEndian
        guard case .mpJoin(let h, let s) = EventDecoder.decode(bytes(e)) else { Issue.record("not MP_JOIN"); return }
        #expect(s.token == 0xdead_beef)
        #expect(s.senderKey == nil)
        #expect(h.flow?.description == "[fd00::2]:40000 > [fd00::1]:5201")
    }

    @Test func removedAddAddr() {
        var e = emptcp_ev_add_addr()
        e.hdr = header(type: EMPTCP_EV_RM_ADD_ADDR, size: MemoryLayout<emptcp_ev_add_addr>.size)
        e.seq = UInt32(1000).bigEndian
        e.ack = UInt32(2000).bigEndian
        e.window = UInt16(502).bigEndian
        e.dropped = 1
        let opt: [UInt8] = [30, 16, 0x30, 2, 10, 0, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8]
        e.opt_len = UInt8(opt.count)
        withUnsafeMutableBytes(of: &e.opt) { $0.copyBytes(from: opt) }
        guard case .removedAddAddr(_, let r) = EventDecoder.decode(bytes(e)) else { Issue.record("not RM_ADD_ADDR"); return }
        #expect(r.seq == 1000 && r.ack == 2000 && r.window == 502 && r.dropped)
        #expect(r.option == opt)
        #expect(r.addressId == 2)
    }

    @Test func ackState() {
        var e = emptcp_ev_ack_state()
        e.hdr = header(type: EMPTCP_EV_RECOVER_ADD_ADDR, size: MemoryLayout<emptcp_ev_ack_state>.size)
        e.seq = UInt32(0xffff_fff0).bigEndian
        e.ack = UInt32(77).bigEndian
        e.window = UInt16(100).bigEndian
        e.has_ts = 1
        e.tsval = 5555
        e.tsecr = 4444
        e.has_data_ack = 1
        e.data_ack = 0x1_0000_0001
        guard case .ackState(_, let a) = EventDecoder.decode(bytes(e)) else { Issue.record("not ACK state"); return }
        #expect(a.seq == 0xffff_fff0 && a.ack == 77 && a.window == 100)
        #expect(a.timestamps == .init(value: 5555, echo: 4444))
        #expect(a.dataAck == 0x1_0000_0001)
    }

    @Test func unknownVersionTypeAndShortRecordsNeverTrap() {
        var e = emptcp_ev_mptcp()
        e.hdr = header(type: EMPTCP_EV_MP_CAPABLE, size: MemoryLayout<emptcp_ev_mptcp>.size, version: 99)
        guard case .unknown(let h, let reason, _) = EventDecoder.decode(bytes(e)) else { Issue.record("decoded v99"); return }
        #expect(h?.version == 99)
        #expect(reason.contains("version 99"))

        var t = emptcp_ev_mptcp()
        t.hdr = header(type: EMPTCP_EV_MP_CAPABLE, size: 0)
        t.hdr.type = 200
        guard case .unknown(_, let r2, _) = EventDecoder.decode(bytes(t)) else { Issue.record("decoded type 200"); return }
        #expect(r2.contains("type 200"))

        var shortOne = emptcp_ev_mptcp()
        shortOne.hdr = header(type: EMPTCP_EV_RM_ADD_ADDR, size: 0)
        let truncated = Array(bytes(shortOne).prefix(MemoryLayout<emptcp_event_hdr>.size + 4))
        guard case .unknown = EventDecoder.decode(truncated) else { Issue.record("decoded a truncated record"); return }
        guard case .unknown(nil, _, 3) = EventDecoder.decode([1, 2, 3]) else { Issue.record("decoded 3 bytes"); return }

        var badLen = emptcp_ev_add_addr()
        badLen.hdr = header(type: EMPTCP_EV_RM_ADD_ADDR, size: MemoryLayout<emptcp_ev_add_addr>.size)
        badLen.opt_len = 200
        guard case .unknown = EventDecoder.decode(bytes(badLen)) else { Issue.record("accepted opt_len 200"); return }
    }

    @Test func flowParsing() {
        #expect(EventFlow(parsing: "10.0.1.2:5201-10.0.1.1:40000")?.description == "10.0.1.2:5201 > 10.0.1.1:40000")
        #expect(EventFlow(parsing: "[fd00::1]:1 > [fd00::2]:2")?.destinationPort == 2)
        #expect(EventFlow(parsing: "10.0.1.2:5201-[fd00::2]:2") == nil)
        #expect(EventFlow(parsing: "nonsense") == nil)
    }
}

@Suite struct EventsFormatTests {
    @Test func jsonAndTextLines() {
        var e = emptcp_ev_mptcp()
        e.hdr = header(type: EMPTCP_EV_MP_CAPABLE, size: MemoryLayout<emptcp_ev_mptcp>.size)
        e.tcp_flags = 0x10
        e.has_local_key = 1
        e.local_key = UInt64(0x0102_0304_0506_0708).bigEndian
        let line = EventLine(EventDecoder.decode(bytes(e)))
        #expect(line.json == #"{"dport":5201,"dst":"10.0.1.1","hook":"tc","ifindex":7,"schema":1,"sender_idsn":"f5a101d3d29d6f72","sender_key":"0102030405060708","sender_token":"66840dda","sport":40000,"src":"10.0.1.2","tcp_flags":".","ts_ns":123456,"type":"MP_CAPABLE"}"#)
        #expect(line.text == "123456 tc/7 MP_CAPABLE 10.0.1.2:40000 > 10.0.1.1:5201 flags=. sender_token=66840dda sender_key=0102030405060708 sender_idsn=f5a101d3d29d6f72")

        var unknown = e
        unknown.hdr.type = 99
        let u = EventLine(EventDecoder.decode(bytes(unknown)))
        #expect(u.type == "UNKNOWN" && u.event_type == 99 && u.reason == "event type 99")
        #expect(u.text.hasSuffix("version=1 event_type=99 length=88 reason=\"event type 99\""))
    }
}
