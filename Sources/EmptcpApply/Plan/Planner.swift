/// The writes that turn one map's current contents into the desired ones.
struct MapPlan: Sendable, Equatable {
    let map: MapID
    var add: [(key: MapKey, value: Bytes)] = []
    var change: [(key: MapKey, value: Bytes)] = []
    var remove: [MapKey] = []

    var isEmpty: Bool { add.isEmpty && change.isEmpty && remove.isEmpty }

    static func == (a: MapPlan, b: MapPlan) -> Bool {
        a.map == b.map && a.remove == b.remove
            && a.add.map(\.key) == b.add.map(\.key) && a.add.map(\.value) == b.add.map(\.value)
            && a.change.map(\.key) == b.change.map(\.key) && a.change.map(\.value) == b.change.map(\.value)
    }
}

/// Compares desired and current map contents. Pure; the differences come in no particular order.
enum Planner {
    static func plan(_ map: MapID, desired: [MapKey: Bytes], current: [MapKey: Bytes]) -> MapPlan {
        var plan = MapPlan(map: map)
        // Into empty maps (after attach or a reboot) every entry is an addition.
        if current.isEmpty && !map.kind.isArray { plan.add.reserveCapacity(desired.count) }
        for (key, value) in desired {
            switch current[key] {
            case nil where map.kind.isArray: plan.change.append((key, value))
            case nil: plan.add.append((key, value))
            case let old? where old != value: plan.change.append((key, value))
            default: break
            }
        }
        if !map.kind.isArray && current.count + plan.add.count != desired.count {
            plan.remove = current.keys.filter { desired[$0] == nil }
        }
        // Not sorted: the kernel takes a batch in any order, and at 100k bindings sorting was
        // a good part of planning. What shows the entries to people (drift) sorts them.
        return plan
    }

    /// A hash map's plan from a list of desired entries with unique keys (the bindings).
    static func plan(_ map: MapID, desired: [(key: MapKey, value: Bytes)], current: [MapKey: Bytes]) -> MapPlan {
        var plan = MapPlan(map: map)
        // Into an empty map (after attach or a reboot) every entry is an addition: the list
        // itself, shared, not copied.
        guard !current.isEmpty else {
            plan.add = desired
            return plan
        }
        for (key, value) in desired {
            switch current[key] {
            case nil: plan.add.append((key, value))
            case let old? where old != value: plan.change.append((key, value))
            default: break
            }
        }
        if current.count + plan.add.count != desired.count {
            let wanted = Set(desired.lazy.map(\.key))
            plan.remove = current.keys.filter { !wanted.contains($0) }
        }
        return plan
    }

    static func plan(desired: DesiredState, current: [MapID: [MapKey: Bytes]]) -> [MapPlan] {
        MapID.all.map { id in
            if let list = desired.bindings[id] { return plan(id, desired: list, current: current[id] ?? [:]) }
            return plan(id, desired: desired.arrays[id] ?? [:], current: current[id] ?? [:])
        }
    }
}
