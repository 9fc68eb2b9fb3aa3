import Foundation
import Testing
@testable import EmptcpStore

@Suite struct StoreTests {
    let dir = scratchDir()
    var dbPath: String { dir + "/sub/emptcp.db" }

    /// Flat, with the policy file's field names (docs/json.md).
    @Test func bindingCodesAsOneFlatObject() throws {
        let binding = Binding(BindingKey(hook: .xdp, selector: .tcp4, local: IPAddress("10.0.1.1"), localPort: 5201,
                                         remote: IPAddress("10.0.1.2"), remotePort: 40000), chain: "slow")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(binding), as: UTF8.self)
        #expect(json == #"{"chain":"slow","hook":"xdp","local":"10.0.1.1","local_port":5201,"remote":"10.0.1.2","remote_port":40000,"selector":"tcp4"}"#)
        #expect(try JSONDecoder().decode(Binding.self, from: Data(json.utf8)) == binding)
        let bare = Binding(BindingKey(hook: .tc, selector: .tcp), chain: "events")
        #expect(String(decoding: try encoder.encode(bare), as: UTF8.self) == #"{"chain":"events","hook":"tc","selector":"tcp"}"#)
    }

    @Test func commitShowRoundTrip() throws {
        let store = try PolicyStore(path: dbPath)
        let p = try parse(samplePolicyYAML)
        let r1 = try store.commit(p, message: "first")
        #expect(r1.id == 1 && r1.parent == nil && r1.bindingCount == 3 && r1.message == "first")
        #expect(try store.policy(at: 1).canonical == p.canonical)
        #expect(try store.currentRevision()?.id == 1)
        // Reopen from disk: same content, same hash.
        let again = try PolicyStore(path: dbPath)
        #expect(try again.currentRevision()?.contentHash == r1.contentHash)
        #expect(PolicyFile.render(try again.policy(at: 1)) == PolicyFile.render(p))
    }

    @Test func identicalCommitRefusedAndAudited() throws {
        let store = try PolicyStore(path: dbPath)
        let p = try parse(samplePolicyYAML)
        _ = try store.commit(p, message: nil)
        // The same content in another order is still identical.
        var shuffled = p
        shuffled.bindings.reverse()
        #expect(throws: StoreError.identical(revision: 1)) { try store.commit(shuffled, message: nil) }
        #expect(try store.log(limit: nil).count == 1)
        let last = try #require(try store.audit(since: nil).last)
        #expect(last.outcome == .refused && last.action == "commit" && last.detail.contains("identical"))
    }

    @Test func rollbackRestoresContentAsNewRevision() throws {
        let store = try PolicyStore(path: dbPath)
        let p1 = try parse(samplePolicyYAML)
        _ = try store.commit(p1, message: "one")
        var p2 = p1
        p2.bindings.removeFirst()
        p2.chains["slow"] = [.setRecvWin(window: 800)]
        p2.selectors[.tc] = nil
        p2.bindings.removeAll { $0.key.hook == .tc }
        _ = try store.commit(p2, message: "two")
        var p3 = p2
        p3.bindings.append(Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("10.9.9.9"), remote: IPAddress("10.9.9.8")), chain: "slow"))
        _ = try store.commit(p3, message: "three")

        let back = try store.rollback(to: 1, message: nil)
        #expect(back.id == 4 && back.parent == 3 && back.action == "rollback" && back.rollbackTo == 1)
        #expect(try store.policy(at: 4).canonical == p1.canonical)
        #expect(back.contentHash == (try store.revision(1)).contentHash)
        // History kept: revision 3 still has its content.
        #expect(try store.policy(at: 3).canonical == p3.canonical)
        // Default target: the parent of the current revision.
        let r5 = try store.rollback(to: nil, message: nil)
        #expect(try store.policy(at: r5.id).canonical == p3.canonical)
        // Rolling back to the current content is refused, and says so.
        #expect(throws: StoreError.alreadyCurrent(target: 3, current: 5)) { try store.rollback(to: 3, message: nil) }
        #expect(throws: StoreError.revisionNotFound(99)) { try store.rollback(to: 99, message: nil) }
        #expect(try store.log(limit: nil).map(\.id) == [5, 4, 3, 2, 1])
    }

    @Test func rollbackOfFirstRevisionIsRefused() throws {
        let store = try PolicyStore(path: dbPath)
        #expect(throws: StoreError.nothingToRollBack) { try store.rollback(to: nil, message: nil) }
        _ = try store.commit(try parse(samplePolicyYAML), message: nil)
        #expect(throws: StoreError.nothingToRollBack) { try store.rollback(to: nil, message: nil) }
    }

    @Test func diffListsAddedRemovedChanged() throws {
        let store = try PolicyStore(path: dbPath)
        let p1 = try parse(samplePolicyYAML)
        _ = try store.commit(p1, message: nil)
        var p2 = p1
        p2.selectors[.xdp] = [SelectorStep(name: "tcp2", op: .and), SelectorStep(name: "tcp4", op: .or)]
        p2.chains["slow"] = [.setRecvWin(window: 1)]
        p2.chains["fast"] = [.rmAddAddr]
        p2.chains["backup"] = nil
        p2.selectors[.tc] = nil
        let removedTC = p2.bindings.removeLast()
        p2.bindings[0].chain = "fast"
        let added = Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("10.0.0.5"), remote: IPAddress("10.0.0.6")), chain: "slow")
        p2.bindings.append(added)
        _ = try store.commit(p2, message: nil)

        let d = try store.diff(from: 1, to: 2)
        #expect(d.selectors.map(\.hook) == [.xdp, .tc])
        #expect(d.chainsAdded.map(\.name) == ["fast"])
        #expect(d.chainsRemoved.map(\.name) == ["backup"])
        #expect(d.chainsChanged.map(\.name) == ["slow"])
        #expect(d.bindingsAdded == [added])
        #expect(d.bindingsRemoved == [removedTC])
        #expect(d.bindingsChanged.map(\.to.chain) == ["fast"])
        #expect(try store.diff(from: 2, to: nil).isEmpty)
        #expect(try store.diff(from: 2, to: 1).bindingsAdded == [removedTC])
    }

    @Test func failedCommitFileIsAuditedAndWritesNothing() throws {
        let store = try PolicyStore(path: dbPath)
        let file = dir + "/bad.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 70000"), to: file)
        #expect(throws: StoreError.self) { try store.commitFile(file, message: "bad") }
        #expect(try store.currentRevision() == nil)
        let rows = try store.audit(since: nil)
        #expect(rows.count == 1)
        #expect(rows[0].outcome == .failed && rows[0].action == "commit" && rows[0].revision == nil)
        #expect(rows[0].detail == "\(file):6: chains.slow[0].set_recv_win.window: out of range 0…65535: 70000")
    }

    @Test func auditHasEveryAction() throws {
        let store = try PolicyStore(path: dbPath)
        let p = try parse(samplePolicyYAML)
        _ = try store.commit(p, message: "m1")
        _ = try store.commit(bigPolicy(2), message: nil)
        _ = try store.rollback(to: 1, message: nil)
        try store.recordAudit(action: "attach", revision: 3, outcome: .ok, detail: "eth0 xdp")
        let rows = try store.audit(since: nil)
        #expect(rows.map(\.action) == ["commit", "commit", "rollback", "attach"])
        #expect(rows.map(\.revision) == [1, 2, 3, 3])
        #expect(try store.audit(since: Date().addingTimeInterval(3600)).isEmpty)
        #expect(rows.allSatisfy { $0.user.isEmpty == false && $0.host.isEmpty == false })
    }

    /// A one-binding change writes one closed row and one new row, not a copy of the policy.
    @Test func storageGrowsWithChangesOnly() throws {
        let store = try PolicyStore(path: dbPath)
        var p = bigPolicy(1000)
        _ = try store.commit(p, message: nil)
        #expect(try rowCount() == 1000)
        p.bindings[500].chain = "backup"
        p.bindings[500].key.hook = .xdp
        _ = try store.commit(p, message: nil)
        #expect(try rowCount() == 1001)
        #expect(try closedRows() == 1)
        // Incremental API: same effect.
        var b = p.bindings[7]
        b.chain = "backup"
        let r = try store.commit(changes: BindingChanges(upsert: [b], remove: [p.bindings[8].key]), message: nil)
        #expect(try rowCount() == 1002 && closedRows() == 3)
        p.bindings[7] = b
        p.bindings.remove(at: 8)
        // The hash kept incrementally equals the hash of the full content.
        #expect(r.contentHash == ContentHash.of(p).hash)
        #expect(try store.policy(at: r.id).canonical == p.canonical)
        // Rollback copies only what differs.
        _ = try store.rollback(to: 1, message: nil)
        #expect(try rowCount() == 1005)
        #expect(try store.policy(at: 4).canonical == bigPolicy(1000).canonical)
    }

    @Test func incrementalChangesAreValidated() throws {
        let store = try PolicyStore(path: dbPath)
        _ = try store.commit(bigPolicy(10), message: nil)
        let bad = Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("1.1.1.1"), remote: IPAddress("1.1.1.2")), chain: "nope")
        #expect(throws: StoreError.validation(file: nil, line: nil, key: "bindings[0].chain", message: "no chain named nope")) {
            try store.commit(changes: BindingChanges(upsert: [bad]), message: nil)
        }
        let missing = BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("9.9.9.9"), localPort: nil, remote: IPAddress("9.9.9.8"), remotePort: nil)
        #expect(throws: StoreError.self) { try store.commit(changes: BindingChanges(remove: [missing]), message: nil) }
        let same = bigPolicy(10).bindings[0]
        #expect(throws: StoreError.identical(revision: 1)) { try store.commit(changes: BindingChanges(upsert: [same]), message: nil) }
    }

    /// A writer that cannot get the lock within the busy timeout gets a clear error; nothing is lost.
    @Test func busyDatabaseGivesAClearError() throws {
        _ = try PolicyStore(path: dbPath)
        let other = try Database(path: dbPath, busyTimeoutMs: 1000)
        try other.execute("BEGIN IMMEDIATE")
        let store = try PolicyStore(path: dbPath, busyTimeout: 0.2)
        #expect(throws: StoreError.busy(operation: "commit")) { try store.commit(try parse(samplePolicyYAML), message: nil) }
        #expect(StoreError.busy(operation: "commit").description.contains("database is busy"))
        try other.execute("COMMIT")
        #expect(try store.currentRevision() == nil)
        _ = try store.commit(try parse(samplePolicyYAML), message: nil)
        #expect(try store.currentRevision()?.id == 1)
    }

    @Test func newerSchemaIsRefused() throws {
        _ = try PolicyStore(path: dbPath)
        let db = try Database(path: dbPath, busyTimeoutMs: 1000)
        try db.execute("PRAGMA user_version = 99")
        #expect(throws: StoreError.schemaTooNew(found: 99, supported: Migrations.latestVersion)) { try PolicyStore(path: dbPath) }
    }

    @Test func modulesAndAttachments() throws {
        let store = try PolicyStore(path: dbPath)
        try store.addModule(ModuleRecord(name: "my_sel", hook: .xdp, kind: .selector, objectPath: "/tmp/s.o", slot: 16))
        try store.addModule(ModuleRecord(name: "my_act", hook: .xdp, kind: .actor, objectPath: "/tmp/a.o", slot: 16))
        #expect(throws: StoreError.moduleExists("my_act")) {
            try store.addModule(ModuleRecord(name: "my_act", hook: .tc, kind: .actor, objectPath: "/tmp/a.o", slot: 17))
        }
        let yaml = """
            selectors:
              xdp: [{my_sel: or}, {tcp2: or}]
            chains:
              c:
                - my_act: {param: 7}
                - set_recv_win: {window: 5}
            bindings:
              - {hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: c}
            """
        let p = try parse(yaml)
        #expect(p.chains["c"]?.first == .module(name: "my_act", param: 7))
        _ = try store.commit(p, message: nil)
        #expect(throws: StoreError.moduleInUse(name: "my_act", revision: 1)) { try store.removeModule(name: "my_act") }
        // A module on the other hook is rejected for a tc binding.
        let onTC = yaml.replacingOccurrences(of: "xdp", with: "tc")
        #expect(throws: StoreError.self) { try store.commit(try parse(onTC), message: nil) }

        try store.recordAttachment(Attachment(iface: "veth0", hook: .xdp, mode: "skb", pinRoot: "/sys/fs/bpf/emptcp"))
        try store.recordAttachment(Attachment(iface: "veth0", hook: .tc, mode: "tcx", pinRoot: "/sys/fs/bpf/emptcp"))
        #expect(try store.attachments().map(\.hook) == [.tc, .xdp])
        try store.removeAttachment(iface: "veth0", hook: .tc)
        #expect(try store.attachments().map(\.mode) == ["skb"])
        #expect(try store.modules().map(\.name) == ["my_act", "my_sel"])
    }

    @Test func confirmKeepsAndExpiryRollsBack() throws {
        let store = try PolicyStore(path: dbPath)
        let p1 = try parse(samplePolicyYAML)
        _ = try store.commit(p1, message: nil)
        let r2 = try store.commit(bigPolicy(5), message: "risky", confirmWithin: 3600)
        #expect(try store.pendingConfirmation()?.revision == r2.id)
        #expect(try store.pendingConfirmation()?.previous == 1)
        // Not yet due: nothing happens.
        #expect(try store.expirePendingConfirmation().isEmpty)
        try store.confirm()
        #expect(try store.pendingConfirmation() == nil)
        #expect(throws: StoreError.noPendingConfirmation) { try store.confirm() }

        // A pending commit past its deadline is rolled back by the next open.
        _ = try store.commit(bigPolicy(6), message: "riskier", confirmWithin: 0)
        let reopened = try PolicyStore(path: dbPath)
        let restored = try #require(reopened.expiredOnOpen.first)
        #expect(restored.action == "rollback" && restored.rollbackTo == 2)
        #expect(try reopened.policy(at: restored.id).canonical == bigPolicy(5).canonical)
        #expect(try reopened.audit(since: nil).last?.action == "confirm-expired")
    }

    private func rowCount() throws -> Int64 {
        try Database(path: dbPath, busyTimeoutMs: 1000).scalarInt("SELECT count(*) FROM binding") ?? -1
    }

    private func closedRows() throws -> Int64 {
        try Database(path: dbPath, busyTimeoutMs: 1000).scalarInt("SELECT count(*) FROM binding WHERE removed_in IS NOT NULL") ?? -1
    }
}
