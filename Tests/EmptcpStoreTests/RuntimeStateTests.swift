import Foundation
import Testing
@testable import EmptcpStore

/// The daemon's runtime tables on a real SQLite file: connections and subflows follow the path
/// manager's events, removed ADD_ADDRs are deduplicated and go with their connection, repairs are
/// queued and closed, and everything survives reopening the store (a restarted daemon).
@Suite struct RuntimeStateTests {
    private func scratch() -> String { NSTemporaryDirectory() + "emptcp-runtime-\(UUID().uuidString).db" }

    @Test func connectionsSubflowsAndRemovedAddAddrs() throws {
        let path = scratch()
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        do {
            let store = try PolicyStore(path: path)
            try store.recordConnection(token: 7, subflows: ["10.0.1.1:4000-10.0.1.2:5201"])
            try store.recordConnection(token: 7, subflows: ["10.0.2.1:4001-10.0.2.2:5201"])
            try store.recordConnection(token: 9, subflows: ["[fd00::1]:4000-[fd00::2]:5201"])
            #expect(try store.recordRemovedAddAddr(subflow: "10.0.1.1:4000-10.0.1.2:5201", option: "1e10"))
            #expect(try !store.recordRemovedAddAddr(subflow: "10.0.1.1:4000-10.0.1.2:5201", option: "1e10"))  // retransmission
            try store.recordRemovedAddAddr(subflow: "[fd00::1]:4000-[fd00::2]:5201", option: "1e1c")
        }
        let store = try PolicyStore(path: path)  // reopened: nothing forgotten
        #expect(try store.connections() == [7: ["10.0.1.1:4000-10.0.1.2:5201", "10.0.2.1:4001-10.0.2.2:5201"], 9: ["[fd00::1]:4000-[fd00::2]:5201"]])
        #expect(try store.removedAddAddrs().count == 2)
        try store.forgetConnection(token: 7)
        #expect(try store.connections().keys.sorted() == [9])
        #expect(try store.removedAddAddrs().map(\.option) == ["1e1c"])
        try store.replaceConnections([11: ["10.0.3.1:1-10.0.3.2:2"]])  // the kernel's view wins
        #expect(try store.connections() == [11: ["10.0.3.1:1-10.0.3.2:2"]])
        #expect(try store.removedAddAddrs().isEmpty)
    }

    @Test func repairsQueuedAndClosed() throws {
        let path = scratch()
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try PolicyStore(path: path)
        let key = BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress("10.0.1.1"), localPort: nil, remote: IPAddress("10.0.1.2"), remotePort: nil)
        let ids = try store.queueLiveRepairs([LiveRepair(kind: .redeliverAddAddr, match: key), LiveRepair(kind: .clearBackup, match: key)], revision: 3)
        #expect(ids.count == 2)
        let pending = try PolicyStore(path: path).pendingLiveRepairs()
        #expect(pending.map(\.repair.kind) == [.redeliverAddAddr, .clearBackup] && pending.allSatisfy { $0.revision == 3 && $0.repair.match == key })
        try store.finishLiveRepair(id: ids[0], state: .done, detail: "1 ADD_ADDR re-delivered")
        #expect(try store.pendingLiveRepairs().map(\.id) == [ids[1]])
        #expect(try store.queueLiveRepairs([], revision: 4).isEmpty)
    }
}
