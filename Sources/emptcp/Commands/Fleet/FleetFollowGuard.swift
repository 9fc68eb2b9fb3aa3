import EmptcpStore

/// A host that follows a fleet takes its policy from the fleet: a local commit or rollback there
/// is refused unless forced (and a forced one shows as drift in `fleet status`).
enum FleetFollowGuard {
    static func check(_ store: PolicyStore, force: Bool, action: String) throws {
        guard let follow = try store.fleetFollowState() else { return }
        if force {
            try store.recordAudit(action: action, revision: nil, outcome: .ok,
                                  detail: "forced while following the fleet as \(follow.hostID): drift until the next fleet revision")
            return
        }
        let refusal = FollowingRefusal(hostID: follow.hostID, action: action)
        try? store.recordAudit(action: action, revision: nil, outcome: .refused, detail: refusal.description)
        throw refusal
    }
}

struct FollowingRefusal: Error, CustomStringConvertible {
    let hostID: String
    let action: String
    var description: String {
        "this host follows a fleet (as \(hostID)): \(action) there with `emptcp fleet \(action)`, or --force a local drift"
    }
}
