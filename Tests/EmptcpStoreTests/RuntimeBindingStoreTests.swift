import Foundation
import Testing
@testable import EmptcpStore

/// Runtime bindings in the store (migration 4): a binding per (hook, flow), replaced by a second
/// bind, removed with a reason, each change with its audit row naming the controller, and kept
/// across reopening (a restarted daemon).
@Suite struct RuntimeBindingStoreTests {
    @Test func bindReplaceForgetAndAudit() throws {
        let path = NSTemporaryDirectory() + "emptcp-runtime-binding-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let a = RuntimeBinding(hook: "xdp", flow: "10.0.1.1:4000-10.0.1.2:5201", chain: "metered", token: 7, controller: "metered-link")
        let b = RuntimeBinding(hook: "tc", flow: "10.0.2.1:4001-10.0.2.2:5201", chain: "metered", token: 9, controller: "other")
        do {
            let store = try PolicyStore(path: path)
            try store.recordRuntimeBinding(a)
            try store.recordRuntimeBinding(b)
            var moved = a
            moved.chain = "count"
            try store.recordRuntimeBinding(moved)  // same (hook, flow): replaced
        }
        let store = try PolicyStore(path: path)
        var expectedA = a
        expectedA.chain = "count"
        #expect(try store.runtimeBindings() == [b, expectedA])
        try store.forgetRuntimeBindings([expectedA], reason: "connection closed")
        #expect(try store.runtimeBindings() == [b])
        let audit = try store.audit(since: nil)
        #expect(audit.filter { $0.action == "runtime-bind" }.count == 3)
        let unbind = audit.filter { $0.action == "runtime-unbind" }
        #expect(unbind.count == 1)
        #expect(unbind.first?.detail.contains("controller=metered-link") == true)
        #expect(unbind.first?.detail.contains("reason=connection closed") == true)
    }
}
