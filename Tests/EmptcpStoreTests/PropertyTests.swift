import Foundation
import Testing
@testable import EmptcpStore

/// `show` output committed again yields identical content, for generated policies.
@Suite struct PropertyTests {
    /// Deterministic generator (SplitMix64) so a failure names a reproducible seed.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func bool() -> Bool { next() & 1 == 1 }

        mutating func address(v6: Bool) -> IPAddress {
            IPAddress(bytes: (0..<(v6 ? 16 : 4)).map { _ in UInt8(truncatingIfNeeded: next()) })!
        }

        mutating func actor(on hook: Hook) -> ActorCall {
            let xdp: [ActorCall] = [.recoverAddAddr, .record(packets: bool(), flow: bool(), rtt: bool())]
            var all: [ActorCall] = [
                .setRecvWin(window: UInt16(truncatingIfNeeded: next())),
                .setFlowPrio(backup: bool(), addrId: bool() ? UInt8(truncatingIfNeeded: next()) : nil),
                .rmAddAddr,
            ]
            all += hook == .xdp ? xdp : [.catchMptcpEvents]
            return all[int(all.count)]
        }

        mutating func policy() -> Policy {
            var p = Policy()
            var chainsByHook: [Hook: [String]] = [:]
            for hook in Hook.allCases where bool() || true {
                let kinds = SelectorKind.allCases.shuffledDeterministically(&self)
                let steps = kinds.prefix(1 + int(3)).map { SelectorStep(name: $0.rawValue, op: bool() ? .or : .and) }
                p.selectors[hook] = Array(steps)
                for c in 0..<(1 + int(3)) {
                    let name = "\(hook.rawValue)-chain_\(c)"
                    p.chains[name] = (0..<(1 + int(Policy.maxActorsPerChain))).map { _ in actor(on: hook) }
                    chainsByHook[hook, default: []].append(name)
                }
            }
            var seen = Set<BindingKey>()
            for _ in 0..<int(60) {
                let hook: Hook = bool() ? .xdp : .tc
                guard let steps = p.selectors[hook], let chains = chainsByHook[hook] else { continue }
                let kind = SelectorKind(rawValue: steps[int(steps.count)].name)!
                let v6 = bool()
                var b = Binding(BindingKey(hook: hook, selector: kind), chain: chains[int(chains.count)])
                if kind != .tcp { b.key.local = address(v6: v6); b.key.remote = address(v6: v6) }
                if kind == .tcp4 { b.key.localPort = UInt16(1 + int(65535)); b.key.remotePort = UInt16(1 + int(65535)) }
                if seen.insert(b.key).inserted { p.bindings.append(b) }
            }
            return p
        }
    }

    @Test(arguments: 0..<40)
    func showThenCommitIsIdentical(seed: Int) throws {
        var g = Generator(state: UInt64(seed) &* 7919)
        let p = g.policy()
        try PolicyValidator.validate(p, modules: [], file: "seed \(seed)")
        let path = scratchDir() + "/p.db"
        let store = try PolicyStore(path: path)
        let r1 = try store.commit(p, message: nil)
        // YAML and JSON renderings both parse back to the same content and are refused as identical.
        for text in [PolicyFile.render(try store.policy(at: r1.id)), PolicyFile.renderJSON(try store.policy(at: r1.id))] {
            let (q, map) = try PolicyFile.parse(text, file: "show")
            #expect(q.canonical == p.canonical, "seed \(seed)")
            #expect(throws: StoreError.identical(revision: r1.id)) { try store.commit(q, message: nil, sourceMap: map, confirmWithin: nil) }
            #expect(PolicyFile.render(q) == text || text.hasPrefix("{"))
        }
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

extension Array {
    func shuffledDeterministically(_ g: inout PropertyTests.Generator) -> [Element] {
        var a = self
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, g.int(i + 1)) }
        return a
    }
}
