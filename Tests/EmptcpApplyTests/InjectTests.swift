import EmptcpStore
import Testing
@testable import EmptcpApply

/// One's-complement sum over 16-bit words, folded: 0xffff for data whose checksum is right.
private func folded(_ bytes: [UInt8]) -> UInt16 { ~InjectedSegment.checksum(bytes) }
private func be32(_ b: [UInt8], _ at: Int) -> UInt32 { b[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
private func be16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }

private let addAddr4: [UInt8] = [30, 16, 0x30, 1, 10, 0, 2, 2, 0x6f, 0xa5, 0x28, 0x10, 0xba, 0x79, 0x42, 0x45]
private let flow4 = EventFlow(source: IPAddress("10.0.1.2")!, sourcePort: 5201, destination: IPAddress("10.0.1.1")!, destinationPort: 40000)
private let flow6 = EventFlow(source: IPAddress("fd00::2")!, sourcePort: 5201, destination: IPAddress("fd00::1")!, destinationPort: 40000)

final class RecordingSender: SegmentSender {
    var sent: [([UInt8], IPAddress)] = []
    func send(_ packet: [UInt8], to destination: IPAddress) throws { sent.append((packet, destination)) }
}

private func header(_ flow: EventFlow, ts: UInt64, hook: String = "xdp") -> EventHeader {
    EventHeader(version: 1, type: 0, length: 0, hook: hook, ifindex: 2, timestampNs: ts, flow: flow)
}

@Suite struct InjectSegmentTests {
    @Test func ipv4SegmentFieldsAndChecksums() throws {
        let s = InjectedSegment(flow: flow4, seq: 0xdead_beef, ack: 77, window: 502, options: addAddr4)
        let p = try #require(s.packet())
        #expect(p.count == 20 + 20 + 16)
        #expect(p[0] == 0x45 && p[9] == 6 && be16(p, 2) == UInt16(p.count))
        #expect(folded(Array(p[0..<20])) == 0xffff)  // IPv4 header checksum
        #expect(Array(p[12..<16]) == flow4.source.bytes && Array(p[16..<20]) == flow4.destination.bytes)
        let tcp = Array(p[20...])
        #expect(be16(tcp, 0) == 5201 && be16(tcp, 2) == 40000)
        #expect(be32(tcp, 4) == 0xdead_beef && be32(tcp, 8) == 77)
        #expect(tcp[12] >> 4 == 9 && tcp[13] == 0x10 && be16(tcp, 14) == 502)
        #expect(Array(tcp[20...]) == addAddr4)
        let pseudo = flow4.source.bytes + flow4.destination.bytes + [0, 6, 0, UInt8(tcp.count)]
        #expect(folded(pseudo + tcp) == 0xffff)
    }

    @Test func ipv6SegmentAndPadding() throws {
        let s = InjectedSegment(flow: flow6, seq: 1, ack: 2, window: 3, options: MptcpOption.mpPrio(backup: false))
        let p = try #require(s.packet())
        #expect(p[0] >> 4 == 6 && p[6] == 6 && be16(p, 4) == 24)
        let tcp = Array(p[40...])
        #expect(tcp[12] >> 4 == 6)
        #expect(Array(tcp[20...]) == [30, 3, 0x50, 1])  // MP_PRIO B=0, NOP pad
        let pseudo = flow6.source.bytes + flow6.destination.bytes + [0, 0, 0, UInt8(tcp.count), 0, 0, 0, 6]
        #expect(folded(pseudo + tcp) == 0xffff)
    }

    @Test func timestampsOnlyWhenTheyFit() throws {
        var s = InjectedSegment(flow: flow4, seq: 1, ack: 2, window: 3, timestamps: (100, 200), options: addAddr4)
        #expect(s.optionArea?.prefix(12) == [1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 200])
        s.options = [30, 30, 0x30, 1] + [UInt8](repeating: 0, count: 26)  // IPv6 ADD_ADDR with port
        #expect(s.optionArea?.count == 32 && s.optionArea?.first == 30)
        s.options = [UInt8](repeating: 1, count: 41)
        #expect(s.packet() == nil)
    }

    @Test func mpPrioBytes() {
        #expect(MptcpOption.mpPrio(backup: true) == [30, 3, 0x51])
        #expect(MptcpOption.isAddAddr(addAddr4))
        #expect(!MptcpOption.isAddAddr([30, 3, 0x50]))
        #expect(!MptcpOption.isAddAddr([30, 17] + Array(addAddr4[2...])))  // length byte mismatch
    }
}

@Suite struct InjectEngineTests {
    @Test func ringFlowTableKeepsDistinctOptionsAndNewestState() {
        let engine = InjectionEngine()
        let removed = RemovedAddAddr(seq: 1000, ack: 50, window: 9, dropped: true, option: addAddr4)
        engine.observe(.removedAddAddr(header(flow4, ts: 10), removed))
        engine.observe(.removedAddAddr(header(flow4, ts: 20), RemovedAddAddr(seq: 1000, ack: 60, window: 9, dropped: true, option: addAddr4)))
        engine.observe(.ackState(header(flow4, ts: 30), AckState(seq: 1000, ack: 900, window: 11, timestamps: nil, dataAck: nil)))
        #expect(engine.state(flow4.reversed)?.removed.count == 1)
        #expect(engine.state(flow4)?.removed.first?.ack == 60)  // a retransmission: same bytes, newer state
        #expect(engine.state(flow4)?.ackState?.ack == 900)
        // Records from TC (our own segments) and malformed options are not kept.
        engine.observe(.removedAddAddr(header(flow6, ts: 2, hook: "tc"), RemovedAddAddr(seq: 1, ack: 1, window: 1, dropped: false, option: addAddr4)))
        engine.observe(.removedAddAddr(header(flow6, ts: 2), RemovedAddAddr(seq: 1, ack: 1, window: 1, dropped: false, option: [30, 3, 0x30])))
        #expect(engine.state(flow6) == nil)
        // FIN seen on TC (our direction) forgets the subflow.
        engine.observe(.fin(header(flow4.reversed, ts: 3, hook: "tc"), MptcpSignal(subtypeFlags: 0, tcpFlags: 0x11, senderKey: nil, receiverKey: nil, token: nil)))
        #expect(engine.state(flow4) == nil)
    }

    @Test func boundedFlowTable() {
        let engine = InjectionEngine(capacity: 4)
        for i in 0..<10 {
            let f = EventFlow(source: IPAddress("10.0.0.2")!, sourcePort: UInt16(1000 + i), destination: IPAddress("10.0.0.1")!, destinationPort: 80)
            engine.observe(.ackState(header(f, ts: UInt64(i)), AckState(seq: 1, ack: 1, window: 1, timestamps: nil, dataAck: nil)))
        }
        #expect(engine.flows.count == 4)
        #expect(engine.flows.keys.map(\.sourcePort).sorted() == [1006, 1007, 1008, 1009])
    }

    @Test func announcedAddressOfAddAddr() throws {
        let a = try #require(MptcpOption.announced(addAddr4))
        #expect(a.id == 1 && a.address == IPAddress("10.0.2.2")! && a.port == nil)
        let v6 = [30, 30, 0x30, 7] + IPAddress("fd00:1:2::2")!.bytes + [0x14, 0x51] + [UInt8](repeating: 9, count: 8)
        let b = try #require(MptcpOption.announced(v6))
        #expect(b.id == 7 && b.address == IPAddress("fd00:1:2::2")! && b.port == 5201)
        #expect(MptcpOption.announced(MptcpOption.mpPrio(backup: false)) == nil)
        #expect(MptcpOption.bytes(hex: MptcpOption.hex(addAddr4)) == addAddr4)
        #expect(MptcpOption.bytes(hex: "1e0") == nil && MptcpOption.bytes(hex: "zz") == nil)
    }
}
