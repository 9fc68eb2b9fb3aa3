import Foundation
import Testing
@testable import EmptcpApply
@testable import EmptcpStore

/// The apply's encoder reads a revision straight from the store's rows
/// (`MapEncoder.encode(revision:in:)`); it must produce exactly what encoding the revision's
/// `Policy` produces, and fail on a bad row with the same error. Pure: a store in a scratch
/// directory, no kernel.
@Suite struct StoreRowEncodingTests {
    /// Both hooks, tcp/tcp2/tcp4, IPv4 and IPv6, four chains (two usable on one hook only),
    /// bindings not grouped by chain, so the row reader's shared chain name changes often.
    static func mixedPolicy() -> Policy {
        var bindings: [Binding] = []
        let xdpChains = ["slow", "backup", "slow", "rec"], tcChains = ["events", "slow", "backup"]
        for i in 0..<60 {
            let v4 = (IPAddress(bytes: [10, 1, UInt8(i / 256), UInt8(i % 256)])!, IPAddress(bytes: [10, 2, 0, UInt8(i % 7)])!)
            let v6 = (IPAddress("fd00::\(String(i, radix: 16))")!, IPAddress("fd01::\(String(i % 5, radix: 16))")!)
            let (local, remote) = i % 3 == 0 ? v6 : v4
            let hook: Hook = i % 2 == 0 ? .xdp : .tc
            let chain = hook == .xdp ? xdpChains[i % xdpChains.count] : tcChains[i % tcChains.count]
            let key = i % 4 < 2
                ? BindingKey(hook: hook, selector: .tcp2, local: local, remote: remote)
                : BindingKey(hook: hook, selector: .tcp4, local: local, localPort: UInt16(5000 + i), remote: remote, remotePort: UInt16(40000 + i))
            bindings.append(Binding(key, chain: chain))
        }
        bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp), chain: "backup"))
        bindings.append(Binding(BindingKey(hook: .tc, selector: .tcp), chain: "slow"))
        return Policy(
            selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or), SelectorStep(name: "tcp", op: .and)],
                        .tc: [SelectorStep(name: "tcp2", op: .or), SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp", op: .and)]],
            chains: ["slow": [.setRecvWin(window: 1600), .rmAddAddr], "backup": [.setFlowPrio(backup: true, addrId: 3)],
                     "events": [.catchMptcpEvents], "rec": [.record(packets: true, flow: true, rtt: false)],
                     "unused": [.rmAddAddr]],
            bindings: bindings)
    }

    /// A store in a fresh scratch directory, removed by `body`'s end.
    static func withStore<T>(_ name: String = #function, _ body: (PolicyStore, String) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "emptcp-rowenc-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/emptcp.db"
        return try body(try PolicyStore(path: path), path)
    }

    static func expectEqual(_ a: DesiredState, _ b: DesiredState) {
        for id in MapID.all { #expect(a.table(id) == b.table(id), "\(id.name)") }
        for id in MapID.all where a.bindings[id] != nil { #expect(a.bindings[id]!.count == b.bindings[id]?.count, "\(id.name)") }
        #expect(a.chainNames == b.chainNames)
        #expect(a.programs == b.programs)
        #expect(a.prefilterOn == b.prefilterOn)
        for hook in Hook.allCases { for g in [UInt8(0), 1] { #expect(a.prefilter(hook, generation: g) == b.prefilter(hook, generation: g)) } }
    }

    @Test(arguments: [true, false]) func rowsAndPolicyEncodeTheSame(prefilter: Bool) throws {
        try Self.withStore { store, _ in
            let policy = Self.mixedPolicy()
            let first = try store.commit(policy, message: "mixed")
            // A second revision that changes some rows, so the rows of revision 1 are no longer
            // all current: the reader must pick the rows alive at the revision asked for.
            var changed = policy
            changed.bindings.removeFirst(7)
            changed.bindings[3].chain = "slow"
            changed.chains["slow"] = [.setRecvWin(window: 3200)]
            let second = try store.commit(changed, message: "changed")
            for (revision, expected) in [(first.id, policy), (second.id, changed)] {
                let rows = try MapEncoder.encode(revision: revision, in: store, prefilter: prefilter)
                let stored = try MapEncoder.encode(try store.policy(at: revision), prefilter: prefilter)
                Self.expectEqual(rows, stored)
                Self.expectEqual(rows, try MapEncoder.encode(expected, prefilter: prefilter))
                // Not vacuous: every binding made a key.
                let keys = [Hook.xdp, .tc].reduce(0) { n, hook in
                    n + rows.bindings[MapID(hook: hook, kind: .tcp2)]!.count + rows.bindings[MapID(hook: hook, kind: .tcp4)]!.count
                }
                #expect(keys == expected.bindings.count - 2)
                #expect(rows.arrays[MapID(hook: .tc, kind: .tcpDefault)]![MapEncoder.zeroKey] != MapEncoder.u32(0))
            }
        }
    }

    @Test func encodingTheRowsIsEncodingTheirBindings() throws {
        let policy = Self.mixedPolicy()
        for binding in policy.bindings where binding.key.selector != .tcp {
            let row = BindingRow(binding)
            #expect(row.binding == binding)
            if binding.key.selector == .tcp2 {
                #expect(try MapEncoder.tcp2Key(row).bytes.count == 36)
            } else {
                #expect(try MapEncoder.tcp4Key(row).bytes.count == 40)
            }
        }
    }

    /// Rows no commit writes (the validator refuses such bindings), edited into the database:
    /// the row path fails with the very error the `Policy` path gives, naming the binding.
    @Test func badRowsFailAsThePolicyPathDoes() throws {
        let edits: [(sql: String, message: String)] = [
            ("chain = 'nope'", "names unknown chain nope"),
            ("remote = 'fd00::9'", "local and remote address families differ"),
            ("remote = NULL", "needs local and remote addresses"),
            ("local_port = NULL", "needs local and remote ports"),
        ]
        for edit in edits {
            try Self.withStore("badRows\(edit.message.filter(\.isLetter))") { store, path in
                var policy = Self.mixedPolicy()
                policy.bindings = [Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.0.1"), localPort: 1,
                                                      remote: IPAddress("10.0.0.2"), remotePort: 2), chain: "slow")]
                let revision = try store.commit(policy, message: "one")
                try Database(path: path, busyTimeoutMs: 1000, create: false).execute("UPDATE binding SET \(edit.sql)")
                let rowError = #expect(throws: ApplyError.self) { try MapEncoder.encode(revision: revision.id, in: store) }
                let policyError = #expect(throws: ApplyError.self) { try MapEncoder.encode(try store.policy(at: revision.id)) }
                #expect(rowError.map { "\($0)" } == policyError.map { "\($0)" })
                #expect("\(rowError.map { "\($0)" } ?? "")".contains(edit.message))
                #expect("\(rowError.map { "\($0)" } ?? "")".contains("xdp tcp4 local=10.0.0.1"))
            }
        }
    }

    /// An address that does not parse cannot be a binding at all: both the row path and
    /// `policy(at:)` refuse the row, naming it, instead of reading it as no address.
    @Test func anUnparsableStoredAddressIsACorruptRow() throws {
        try Self.withStore { store, path in
            let revision = try store.commit(Self.mixedPolicy(), message: "mixed")
            let db = try Database(path: path, busyTimeoutMs: 1000, create: false)
            try db.execute("UPDATE binding SET local = '10.0.0.300' WHERE id = (SELECT min(id) FROM binding WHERE local IS NOT NULL)")
            let row = try #require(try db.scalarInt("SELECT id FROM binding WHERE local = '10.0.0.300'"))
            let expected = StoreError.corruptRow(table: "binding", row: row, message: "local '10.0.0.300' is not an IP address")
            #expect(throws: expected) { try MapEncoder.encode(revision: revision.id, in: store) }
            #expect(throws: expected) { try store.policy(at: revision.id) }
            #expect("\(expected)" == "binding row \(row): local '10.0.0.300' is not an IP address (the database holds a row no commit writes)")
            #expect(expected.exitCode == 1)
        }
    }
}
