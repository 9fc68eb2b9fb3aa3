import CLibbpf
import EmptcpStore
import Testing
@testable import EmptcpApply

/// Pure tests of the policy encoder and the planner: no kernel.
@Suite struct MapEncoderTests {
    static let policy = Policy(
        selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or), SelectorStep(name: "tcp", op: .and)],
                    .tc: [SelectorStep(name: "tcp2", op: .or)]],
        chains: ["slow": [.setRecvWin(window: 1600), .rmAddAddr], "backup": [.setFlowPrio(backup: true, addrId: nil)]],
        bindings: [
            Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("10.0.1.1"), remote: IPAddress("10.0.1.2")), chain: "slow"),
            Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.1.1"), localPort: 5201, remote: IPAddress("10.0.1.2"), remotePort: 40000), chain: "slow"),
            Binding(BindingKey(hook: .tc, selector: .tcp2, local: IPAddress("fd00::1"), remote: IPAddress("fd00::2")), chain: "backup"),
        ])

    @Test func chainIDIsFNV1aOfHookAndName() {
        // FNV-1a 32 of "" is the offset basis; of "a" a published test vector.
        #expect(MapEncoder.chainID(hook: .xdp, name: "slow") == MapEncoder.chainID(hook: .xdp, name: "slow"))
        #expect(MapEncoder.chainID(hook: .xdp, name: "slow") != MapEncoder.chainID(hook: .tc, name: "slow"))
        var hash: UInt32 = 2_166_136_261
        for b in "xdp/slow".utf8 { hash = (hash ^ UInt32(b)) &* 16_777_619 }
        #expect(MapEncoder.chainID(hook: .xdp, name: "slow") == hash)
    }

    @Test func chainIndexesStartAtTheNameHashAndProbeOnCollision() throws {
        var policy = Self.policy
        let slots = UInt32(EMPTCP_CHAIN_SLOTS) - 1
        let home = { (name: String) in MapEncoder.chainID(hook: .xdp, name: name) % slots + 1 }
        // Two names with one home slot: the first in name order keeps it, the second takes the next.
        let a = "c0"
        let b = (1...100_000).lazy.map { "c\($0)" }.first { home($0) == home(a) }!
        policy.chains = [a: [.rmAddAddr], b: [.rmAddAddr], "slow": [.rmAddAddr]]
        let indexes = try MapEncoder.chainIndexes(hook: .xdp, policy)
        let (first, second) = a < b ? (a, b) : (b, a)
        #expect(indexes[first] == home(a))
        #expect(indexes[second] == home(a) % slots + 1)
        #expect(indexes["slow"] == home("slow"))
        #expect(Set(indexes.values).count == 3 && indexes.values.allSatisfy { (1...slots).contains($0) })
        // Adding a chain moves no other chain (no collision with them).
        policy.chains["extra"] = [.rmAddAddr]
        let more = try MapEncoder.chainIndexes(hook: .xdp, policy)
        if home("extra") != home(a) && home("extra") != home(a) % slots + 1 && home("extra") != home("slow") {
            #expect(more.filter { $0.key != "extra" } == indexes)
        }
    }

    @Test func generationKeysOfTheChainArray() {
        let key = MapEncoder.chainKey(42)
        let g1 = Generation.key(key, .chains, 1)
        #expect(EntryText.u32(g1.bytes) == UInt32(EMPTCP_CHAIN_SLOTS) + 42)
        let (generation, neutral) = Generation.split(g1, .chains)
        #expect(generation == 1 && neutral == key)
        #expect(Generation.key(key, .chains, 0) == key)
    }

    @Test func layoutsMatchTheABIHeader() {
        #expect(MemoryLayout<emptcp_tcp2_key>.size == 36)
        #expect(MemoryLayout<emptcp_tcp4_key>.size == 40)
        #expect(MemoryLayout<emptcp_selector_chain>.size == 2 + 2 * Int(EMPTCP_MAX_SELECTORS))
        #expect(MemoryLayout<emptcp_action_chain>.size == 8 + 16 * Int(EMPTCP_MAX_ACTORS))
    }

    @Test func encodesKeysInNetworkOrder() throws {
        let key = try MapEncoder.tcp4Key(Self.policy.bindings[1]).bytes
        #expect(key[0] == 4) // EMPTCP_AF_INET
        #expect(Array(key[2..<4]) == [0x14, 0x51]) // 5201 big endian
        #expect(Array(key[4..<8]) == [10, 0, 1, 1])
        #expect(key[8..<20].allSatisfy { $0 == 0 })
        #expect(Array(key[20..<24]) == [10, 0, 1, 2])
        #expect(Array(key[36..<38]) == [0x9c, 0x40]) // 40000 big endian
        let v6 = try MapEncoder.tcp2Key(Self.policy.bindings[2]).bytes
        #expect(v6[0] == 6)
        #expect(Array(v6[4..<20]) == IPAddress("fd00::1")!.bytes)
        #expect(EntryText.key(MapID(hook: .xdp, kind: .tcp4), key) == "local=10.0.1.1 local_port=5201 remote=10.0.1.2 remote_port=40000")
    }

    @Test func encodesChainsAndSelectorChain() throws {
        let state = try MapEncoder.encode(Self.policy)
        let selectors = state.arrays[MapID(hook: .xdp, kind: .selectorChain)]![MapEncoder.zeroKey]!
        #expect(Array(selectors.prefix(8)) == [3, 1, 3, 0, 2, 0, 1, 1]) // len 3, prefilter flag; tcp4 or, tcp2 or, tcp and
        let chains = state.arrays[MapID(hook: .xdp, kind: .chains)]!
        #expect(chains.count == 1)
        let id = try MapEncoder.chainIndexes(hook: .xdp, Self.policy)["slow"]!
        let chain = chains[MapEncoder.chainKey(id)]!
        #expect(chain[0] == 2)
        #expect(chain[8] == UInt8(EMPTCP_ACT_SET_RECV_WIN.rawValue))
        #expect(chain[16] == 0x40 && chain[17] == 0x06) // 1600 host order (little endian here)
        #expect(chain[24] == UInt8(EMPTCP_ACT_RM_ADD_ADDR.rawValue))
        let tcChain = state.arrays[MapID(hook: .tc, kind: .chains)]![MapEncoder.chainKey(try MapEncoder.chainIndexes(hook: .tc, Self.policy)["backup"]!)]!
        #expect(tcChain[8] == UInt8(EMPTCP_ACT_SET_FLOW_PRIO.rawValue) && Array(tcChain[16..<19]) == [1, 0, 0])
        #expect(state.bindings[MapID(hook: .xdp, kind: .tcp2)]!.allSatisfy { $0.value == MapEncoder.u32(id) })
        #expect(state.arrays[MapID(hook: .tc, kind: .tcpDefault)]![MapEncoder.zeroKey]! == [0, 0, 0, 0])
    }

    @Test func refusesActorsMissingOnTheHook() {
        var policy = Self.policy
        policy.chains["events"] = [.catchMptcpEvents]
        policy.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp), chain: "events"))
        #expect(throws: ApplyError.self) { try MapEncoder.encode(policy) }
    }

    @Test func resolvesModuleSlots() throws {
        var policy = Self.policy
        policy.selectors[.tc] = [SelectorStep(name: "mysel", op: .and)]
        #expect(throws: ApplyError.self) { try MapEncoder.encode(policy) }
        let state = try MapEncoder.encode(policy, modules: ModuleSlots(selectors: [.tc: ["mysel": 17]]))
        #expect(Array(state.arrays[MapID(hook: .tc, kind: .selectorChain)]![MapEncoder.zeroKey]!.prefix(4)) == [1, 1, 17, 1])
    }

    @Test func plansOnlyTheDifferences() throws {
        let desired = try MapEncoder.encode(Self.policy)
        // Same contents: nothing to do.
        #expect(Planner.plan(desired: desired, current: desired.tables).allSatisfy { $0.isEmpty })
        // From empty maps: hash entries are added, array entries changed.
        let fresh = Planner.plan(desired: desired, current: [:])
        let tcp2 = fresh.first { $0.map == MapID(hook: .xdp, kind: .tcp2) }!
        #expect(tcp2.add.count == 1 && tcp2.change.isEmpty && tcp2.remove.isEmpty)
        let sel = fresh.first { $0.map == MapID(hook: .xdp, kind: .selectorChain) }!
        #expect(sel.change.count == 1 && sel.add.isEmpty)
        // A stray and a changed binding.
        var current = desired.tables
        let map = MapID(hook: .xdp, kind: .tcp2)
        let key = current[map]!.keys.first!
        current[map]![key] = MapEncoder.u32(7)
        current[map]![MapKey(Bytes(repeating: 9, count: 36))] = MapEncoder.u32(7)
        let plan = Planner.plan(map, desired: desired.bindings[map]!, current: current[map]!)
        #expect(plan.add.isEmpty && plan.change.count == 1 && plan.remove == [MapKey(Bytes(repeating: 9, count: 36))])
        let drift = Applier.drift(desired: desired, current: current)
        #expect(drift.map(\.problem).sorted { $0.rawValue < $1.rawValue } == [.differs, .unexpected])
        #expect(drift.contains { $0.description.contains("local=10.0.1.1 remote=10.0.1.2: holds chain index 7, expected chain slow") })
    }

    @Test func mapKeyRoundTripsAndOrdersBytewise() {
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<200).map { i in Bytes((0..<(i % 3 == 0 ? 4 : 40)).map { _ in UInt8.random(in: 0...3, using: &generator) }) }
        for key in keys { #expect(MapKey(key).bytes == key) }
        let sorted = keys.map(MapKey.init).sorted().map(\.bytes)
        #expect(sorted == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(Set(keys.map(MapKey.init)).count == Set(keys).count)
    }

    @Test func reportSummary() {
        let report = ApplyReport(revision: 3, previousRevision: 2, maps: [
            MapCounts(map: "emptcp_x_tcp2", added: 1, removed: 0, changed: 0), MapCounts(map: "emptcp_x_tcp4", added: 0, removed: 0, changed: 0),
        ])
        #expect(report.summary == "emptcp_x_tcp2 +1 -0 ~0")
        #expect(report.writes == 1)
    }
}
