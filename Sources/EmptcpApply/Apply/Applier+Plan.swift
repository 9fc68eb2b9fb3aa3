import EmptcpStore

/// What an apply of a policy would write, found without writing: `emptcp check` and
/// `commit --check` print it.
public struct PlannedChanges: Codable, Sendable, Equatable {
    /// What the plan was made against: `kernel` (the maps pinned under the pin root, read only)
    /// or `revision` (the maps the base revision encodes to, when nothing is attached or the
    /// maps cannot be read; the kernel is not touched then).
    public var against: String
    /// Why the kernel was not read, when `against` is `revision` and something is attached.
    public var note: String?
    /// Per map, the entries an apply would add, remove and change (the planner's counts).
    public var maps: [MapCounts]

    public var writes: Int { maps.reduce(0) { $0 + $1.total } }

    /// "emptcp_x_tcp2 +1 -0 ~0, emptcp_x_chains +1 -0 ~0", or "no changes".
    public var summary: String {
        let changed = maps.filter { $0.total > 0 }
        return changed.isEmpty ? "no changes" : changed.map { "\($0.map) +\($0.added) -\($0.removed) ~\($0.changed)" }.joined(separator: ", ")
    }
}

extension Applier {
    /// The map writes that would turn the data plane into `policy`. When emptcp is attached and
    /// its maps are readable they are read (never written); otherwise `base` (the current
    /// revision) is encoded and taken as what the kernel holds, with no kernel access at all.
    public func plannedChanges(policy: Policy, base: Policy, modules: ModuleSlots = ModuleSlots()) throws -> PlannedChanges {
        let desired = try MapEncoder.encode(policy, modules: modules, prefilter: prefilter)
        var note: String?
        if isAttached() {
            do {
                // What is in force: the live generation (docs/architecture.md "Atomic switch").
                let current = try liveContents().maps
                return PlannedChanges(against: "kernel", note: nil, maps: Self.counts(Planner.plan(desired: desired, current: current)))
            } catch {
                note = "kernel maps not read: \(error)"
            }
        }
        // An unencodable base (a module no longer recorded) plans against empty maps.
        let assumed = (try? MapEncoder.encode(base, modules: modules, prefilter: prefilter).tables) ?? [:]
        return PlannedChanges(against: "revision", note: note, maps: Self.counts(Planner.plan(desired: desired, current: assumed)))
    }

    static func counts(_ plans: [MapPlan]) -> [MapCounts] {
        plans.map { MapCounts(map: $0.map.name, added: $0.add.count, removed: $0.remove.count, changed: $0.change.count) }
    }
}
