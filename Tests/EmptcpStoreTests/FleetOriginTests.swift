import Foundation
import Testing
@testable import EmptcpStore

/// A following host's store: fleet revisions become local revisions with their origin recorded.
@Suite struct FleetOriginTests {
    let dir = scratchDir()
    var dbPath: String { dir + "/emptcp.db" }

    @Test func fleetRevisionBecomesLocalRevisionWithOrigin() throws {
        let store = try PolicyStore(path: dbPath)
        #expect(try store.fleetFollowState() == nil)
        try store.startFollowing(hostID: "edge7")
        let p = try parse(samplePolicyYAML)
        let r = try store.commitFromFleet(p, fleetRevision: 12, fleetHash: p.contentHash, message: "fleet revision 12")
        #expect(r.contentHash == p.contentHash)
        #expect(try store.origin(of: r.id) == RevisionOrigin(revision: r.id, fleetRevision: 12, fleetHash: p.contentHash))
        try store.recordFleetOutcome(fleetRevision: 12, fleetHash: p.contentHash, error: nil)
        let state = try #require(try store.fleetFollowState())
        #expect(state.hostID == "edge7" && state.fleetRevision == 12 && state.fleetHash == p.contentHash)
        // The same content again (a fleet rollback to it) makes no new local revision.
        let same = try store.commitFromFleet(p, fleetRevision: 14, fleetHash: p.contentHash, message: "fleet revision 14")
        #expect(same.id == r.id)
        let actions = try store.audit(since: nil).map(\.action)
        #expect(actions.contains("fleet-commit") && actions.contains("fleet-apply") && actions.contains("fleet-follow"))
        try store.stopFollowing()
        #expect(try store.fleetFollowState() == nil)
    }

    @Test func invalidFleetContentIsRefusedAndNothingIsCommitted() throws {
        let store = try PolicyStore(path: dbPath)
        var p = try parse(samplePolicyYAML)
        p.bindings[0].chain = "missing"
        #expect(throws: StoreError.self) { try store.commitFromFleet(p, fleetRevision: 3, fleetHash: "x", message: nil) }
        #expect(try store.currentRevision() == nil)
    }
}
