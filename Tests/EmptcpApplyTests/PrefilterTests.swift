import CLibbpf
import EmptcpStore
import Foundation
import Testing
@testable import EmptcpApply

/// The binding prefilter: pure planning, then the applier on the real kernel.
@Suite struct PrefilterTests {
    /// abi.h's bit function, written again from its comment, to check the imported one.
    static func referenceBit(_ key: Bytes) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for i in stride(from: 0, to: key.count, by: 4) {
            let word = key[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            h = (h ^ word) &* 16_777_619
        }
        h ^= h >> 16
        return h & ((1 << UInt32(EMPTCP_PREFILTER_BITS_LOG)) - 1)
    }

    @Test func bitIsTheHeaderFunction() throws {
        for binding in MapEncoderTests.policy.bindings {
            let key = binding.key.selector == .tcp4 ? try MapEncoder.tcp4Key(binding) : try MapEncoder.tcp2Key(binding)
            #expect(Prefilter.bit(key) == Self.referenceBit(key.bytes))
        }
    }

    @Test func writesMakeOneGenerationExact() {
        // Word 1: bit 0 wanted, bit 1 stale; word 5: a stale word; word 9: right already.
        let writes = Prefilter.writes(desired: [1: 0b01, 9: 0b100], current: [1: 0b11, 5: 0b1, 9: 0b100])
        #expect(writes.map(\.word) == [1, 5] && writes.map(\.bits) == [0b01, 0])
        #expect(Prefilter.writes(desired: [1: 0b01, 9: 0b100], current: [1: 0b01, 9: 0b100]).isEmpty)
        #expect(Prefilter.missing(desired: [1: 0b11], current: [1: 0b01]).map(\.word) == [1])
        #expect(Prefilter.missing(desired: [1: 0b01], current: [1: 0b11]).isEmpty)
    }

    @Test func eachGenerationHashesItsOwnKeys() throws {
        let on = try MapEncoder.encode(MapEncoderTests.policy, prefilter: true)
        let words = try [UInt8(0), 1].map { try #require(on.prefilter(.xdp, generation: $0)) }
        for binding in MapEncoderTests.policy.bindings where binding.key.hook == .xdp && binding.key.selector != .tcp {
            let kind: MapID.Kind = binding.key.selector == .tcp4 ? .tcp4 : .tcp2
            for gen in [UInt8(0), 1] {
                let bit = Prefilter.bit(Generation.key(try PrefilterKernelTests.key(binding), kind, gen))
                #expect((words[Int(gen)][bit >> 6] ?? 0) >> UInt64(bit & 63) & 1 == 1)
            }
        }
    }

    @Test func encoderSetsTheFlagOnlyWhenAsked() throws {
        let off = try MapEncoder.encode(MapEncoderTests.policy, prefilter: false)
        let on = try MapEncoder.encode(MapEncoderTests.policy, prefilter: true)
        let sel = MapID(hook: .xdp, kind: .selectorChain)
        #expect(off.arrays[sel]![MapEncoder.zeroKey]![1] == 0 && off.prefilter(.xdp, generation: 0) == nil)
        #expect(on.arrays[sel]![MapEncoder.zeroKey]![1] == UInt8(EMPTCP_SEL_F_PREFILTER))
        #expect(on.prefilter(.xdp, generation: 0)?.values.reduce(0) { $0 + $1.nonzeroBitCount } ?? 0 >= 1)
        var empty = MapEncoderTests.policy
        empty.selectors[.tc] = []
        empty.bindings.removeAll { $0.key.hook == .tc }
        #expect(try MapEncoder.encode(empty, prefilter: true).arrays[MapID(hook: .tc, kind: .selectorChain)]![MapEncoder.zeroKey]![1] == 0)
    }
}

@Suite(.serialized) struct PrefilterKernelTests {
    static let bound = Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.1.1"), localPort: 5201,
                               remote: IPAddress("10.0.1.2"), remotePort: 40000), chain: "slow")
    static let policy = Policy(
        selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or)],
                    .tc: [SelectorStep(name: "tcp2", op: .or)]],
        chains: ["slow": [.setRecvWin(window: 1600)]],
        bindings: [
            bound,
            Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("10.0.3.1"), remote: IPAddress("10.0.3.2")), chain: "slow"),
            Binding(BindingKey(hook: .tc, selector: .tcp2, local: IPAddress("fd00::1"), remote: IPAddress("fd00::2")), chain: "slow"),
        ])

    /// Ethernet + IPv4 + TCP ACK 10.0.1.2:`remotePort` → 10.0.1.1:5201, window 5000.
    static func packet(remotePort: UInt16) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 14 + 20 + 20)
        p[12] = 0x08
        p[14] = 0x45; p[17] = 40; p[22] = 64; p[23] = 6
        p[26...29] = [10, 0, 1, 2]; p[30...33] = [10, 0, 1, 1]
        p[34] = UInt8(remotePort >> 8); p[35] = UInt8(remotePort & 0xff); p[36] = 0x14; p[37] = 0x51
        p[46] = 0x50; p[47] = 0x10
        p[48] = 0x13; p[49] = 0x88
        return p
    }

    static func window(_ packet: [UInt8]) -> UInt16 { UInt16(packet[48]) << 8 | UInt16(packet[49]) }

    /// Per hook, the words the live generation's prefilter holds.
    static func words(_ applier: Applier) throws -> [Hook: PrefilterWords] {
        try applier.liveContents().prefilter ?? [:]
    }

    static func live(_ applier: Applier) throws -> UInt8 { try applier.policyMaps().liveGeneration() }

    /// The prefilter bit of a binding's key in generation `gen`.
    static func bit(_ binding: Binding, _ gen: UInt8) throws -> UInt32 {
        Prefilter.bit(Generation.key(try key(binding), binding.key.selector == .tcp4 ? .tcp4 : .tcp2, gen))
    }

    static func key(_ binding: Binding) throws -> MapKey {
        binding.key.selector == .tcp4 ? try MapEncoder.tcp4Key(binding) : try MapEncoder.tcp2Key(binding)
    }

    @Test func applyMaintainsThePrefilter() throws {
        let fx = try ApplierFixture("pref")
        defer { fx.cleanup() }
        try fx.inNetns {
            _ = try fx.applier.attach(interface: "a0")
            defer { _ = try? fx.applier.detach(interface: "a0") }
            let applier = Applier(pinRoot: fx.pinRoot, bpfDir: fx.bpfDir, logDirectory: NSTemporaryDirectory(), logger: fx.logger, prefilter: true)

            let first = try applier.apply(policy: Self.policy, revision: 1)
            #expect(first.maps.suffix(2).map(\.map) == ["emptcp_x_prefil", "emptcp_t_prefil"])
            #expect(first.maps.first { $0.map == "emptcp_t_prefil" }?.changed == 1)

            // Every binding's bit is set, no other bit is, and both selector chains carry the flag.
            var words = try Self.words(applier)
            var gen = try Self.live(applier)
            for binding in Self.policy.bindings {
                let bit = try Self.bit(binding, gen)
                #expect((words[binding.key.hook]?[bit >> 6] ?? 0) >> UInt64(bit & 63) & 1 == 1, "\(binding.key)")
            }
            for hook in Hook.allCases {
                let bits = Set(try Self.policy.bindings.filter { $0.key.hook == hook }.map { try Self.bit($0, gen) })
                #expect(words[hook]?.values.reduce(0) { $0 + $1.nonzeroBitCount } == bits.count)
            }
            let current = try applier.liveContents().maps
            for hook in Hook.allCases {
                #expect(current[MapID(hook: hook, kind: .selectorChain)]?[MapEncoder.zeroKey]?[1] == UInt8(EMPTCP_SEL_F_PREFILTER))
            }

            // A second apply writes nothing; status sees no drift.
            #expect(try applier.apply(policy: Self.policy, revision: 1).writes == 0)
            #expect(try applier.status(policy: Self.policy).drift.isEmpty)

            // The bound flow is still matched through the flag; another flow is not.
            let entry = applier.layout.prog(.xdp, "entry")
            let hit = try testRun(progPath: entry, packet: Self.packet(remotePort: 40000), repeat: 1)
            #expect(hit.retval == 2 && Self.window(hit.output) == 1600)
            let missPacket = Self.packet(remotePort: 40001)
            let miss = try testRun(progPath: entry, packet: missPacket, repeat: 1)
            #expect(miss.retval == 2 && Array(miss.output.prefix(missPacket.count)) == missPacket)

            // A bit cleared behind emptcp's back is drift, and apply repairs it.
            gen = try Self.live(applier)
            let boundBit = try Self.bit(Self.bound, gen)
            let xdpPrefilter = try applier.openPrefilters()[.xdp]!
            try xdpPrefilter.writeWords([(Generation.prefilterIndex(boundBit >> 6, gen), 0)])
            let hidden = try testRun(progPath: entry, packet: Self.packet(remotePort: 40000), repeat: 1)
            #expect(Self.window(hidden.output) == 5000, "the data path does not consult the prefilter")
            let drift = try applier.status(policy: Self.policy).drift
            #expect(drift.count == 1 && drift.first?.map == "emptcp_x_prefil")
            let repair = try applier.apply(policy: Self.policy, revision: 1, verify: true)
            #expect(repair.writes == 1 && repair.maps.first { $0.map == "emptcp_x_prefil" }?.changed == 1)

            // Dropping the binding trims its bit after the entry is gone; the flow is no longer matched.
            var smaller = Self.policy
            smaller.bindings.removeFirst()
            let third = try applier.apply(policy: smaller, revision: 2)
            #expect(third.maps.first { $0.map == "emptcp_x_tcp4" } == MapCounts(map: "emptcp_x_tcp4", added: 0, removed: 1, changed: 0))
            words = try Self.words(applier)
            let desired = try MapEncoder.encode(smaller, prefilter: true)
            gen = try Self.live(applier)
            #expect(words[.xdp] == desired.prefilter(.xdp, generation: gen) && words[.tc] == desired.prefilter(.tc, generation: gen))
            let after = try testRun(progPath: entry, packet: Self.packet(remotePort: 40000), repeat: 1)
            #expect(Self.window(after.output) == 5000)
            #expect(try applier.apply(policy: smaller, revision: 2).writes == 0)

            // Switching it off clears the flag in the generation that goes live; the bound flow
            // is matched without the prefilter.
            let unfiltered = Applier(pinRoot: fx.pinRoot, bpfDir: fx.bpfDir, logDirectory: NSTemporaryDirectory(), logger: fx.logger, prefilter: false)
            let off = try unfiltered.apply(policy: Self.policy, revision: 3)
            #expect(off.maps.first { $0.map == "emptcp_x_selchn" }?.changed == 1)
            let plain = try applier.liveContents().maps
            #expect(plain[MapID(hook: .xdp, kind: .selectorChain)]?[MapEncoder.zeroKey]?[1] == 0)
            let unflagged = try testRun(progPath: entry, packet: Self.packet(remotePort: 40000), repeat: 1)
            #expect(Self.window(unflagged.output) == 1600)
            #expect(try unfiltered.apply(policy: Self.policy, revision: 3).writes == 0)
        }
    }
}
