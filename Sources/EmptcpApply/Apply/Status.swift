import CLibbpf
import EmptcpStore

/// One hook of an attached interface.
public struct HookStatus: Codable, Sendable, Equatable {
    public var hook: String
    /// "native", "generic" (XDP) or "tcx" (TC); "detached" when the pinned link lost its device.
    public var mode: String
    public var programID: UInt32
}

public struct InterfaceStatus: Codable, Sendable, Equatable {
    public var name: String
    /// nil when the device no longer exists.
    public var ifindex: UInt32?
    public var hooks: [HookStatus]
}

public struct MapStatus: Codable, Sendable, Equatable {
    public var map: String
    public var entries: Int
}

public struct CounterStatus: Codable, Sendable, Equatable {
    public var hook: String
    public var counter: String
    public var value: UInt64
}

/// A map entry that differs from what the revision says.
public struct DriftEntry: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: String, Codable, Sendable {
        /// The revision has it, the map does not.
        case missing
        /// The map has it, the revision does not.
        case unexpected
        /// Both have it with different values.
        case differs
    }

    public var map: String
    public var key: String
    public var problem: Problem
    public var expected: String?
    public var actual: String?

    public var description: String {
        switch problem {
        case .missing: "\(map) \(key): missing (expected \(expected ?? "?"))"
        case .unexpected: "\(map) \(key): unexpected (holds \(actual ?? "?"))"
        case .differs: "\(map) \(key): holds \(actual ?? "?"), expected \(expected ?? "?")"
        }
    }
}

/// What `emptcp status` reports about the kernel side.
public struct KernelStatus: Codable, Sendable, Equatable {
    public var pinRoot: String
    /// Programs and maps are pinned.
    public var loaded: Bool
    public var interfaces: [InterfaceStatus]
    /// The revision the live generation holds (nil: none applied).
    public var kernelRevision: Int64?
    /// The live generation (0 or 1; nil when not loaded) and the revision the other one holds
    /// completely (nil: none, or an apply was interrupted while writing it).
    public var liveGeneration: Int? = nil
    public var standbyRevision: Int64? = nil
    public var abiVersion: UInt64?
    public var maps: [MapStatus]
    public var counters: [CounterStatus]
    /// What differs from the policy passed to `status` (empty when none was passed): entries of
    /// the live generation's policy maps, the standby generation (one entry per map that lags),
    /// program-array slots (`<hook>_selectors` / `<hook>_actions`, key "slot N") and links
    /// (map "links", key "iface/hook").
    public var drift: [DriftEntry]
}

/// Counter names by index (enum emptcp_counter in abi.h).
let counterNames: [(UInt32, String)] = [
    (EMPTCP_CNT_PACKETS.rawValue, "packets"), (EMPTCP_CNT_NOT_TCP.rawValue, "not_tcp"),
    (EMPTCP_CNT_MALFORMED.rawValue, "malformed"), (EMPTCP_CNT_TAIL_CALL_FAIL.rawValue, "tail_call_fail"),
    (EMPTCP_CNT_NO_CHAIN.rawValue, "no_chain"), (EMPTCP_CNT_TARGET.rawValue, "target"),
    (EMPTCP_CNT_ADD_ADDR_NOPPED.rawValue, "add_addr_nopped"), (EMPTCP_CNT_ADD_ADDR_DROPPED.rawValue, "add_addr_dropped"),
    (EMPTCP_CNT_RINGBUF_FULL.rawValue, "ringbuf_full"), (EMPTCP_CNT_PRIO_NO_ROOM.rawValue, "prio_no_room"),
    (EMPTCP_CNT_PRIO_PRESENT.rawValue, "prio_present"), (EMPTCP_CNT_PRIO_ADDED.rawValue, "prio_added"),
    (EMPTCP_CNT_RECORD_FULL.rawValue, "record_full"), (EMPTCP_CNT_WIN_SET.rawValue, "win_set"),
]

extension Applier {
    /// The kernel side as it stands; with `policy`, also the drift against it. Reads only.
    public func status(policy: Policy? = nil, modules: ModuleSlots = ModuleSlots()) throws -> KernelStatus {
        var status = KernelStatus(pinRoot: pinRoot, loaded: false, interfaces: [], kernelRevision: nil, abiVersion: nil,
                                  maps: [], counters: [], drift: [])
        guard PinRoot.isBPFFS(pinRoot) else { return status }
        status.interfaces = try interfaceStatus()
        guard Sys.exists(layout.map(MapNames.meta)) else { return status }
        status.loaded = Loader.isLoaded(layout)

        let kernel = try PolicyMaps(layout: layout, prefilter: prefilter)
        let abi = try kernel.meta.readInteger(at: MapNames.metaABIVersion)
        status.abiVersion = abi == 0 ? nil : abi
        let live = try kernel.liveGeneration()
        let standby = Generation.other(live)
        status.liveGeneration = Int(live)
        status.kernelRevision = try kernel.revision(of: live)
        status.standbyRevision = try kernel.revision(of: standby)
        let contents = try kernel.read(prefilter: prefilter)
        let current = contents[Int(live)].maps
        for id in MapID.all {
            let entries = current[id] ?? [:]
            let count: Int = switch id.kind {
            case .selectorChain: Int(entries[Encoder.zeroKey]?.first ?? 0)
            case .tcpDefault: EntryText.u32(entries[Encoder.zeroKey] ?? []) == 0 ? 0 : 1
            default: entries.count
            }
            status.maps.append(MapStatus(map: id.name, entries: count))
        }

        let cpus = try Sys.possibleCPUs()
        for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
            let path = layout.map(MapNames.counters(hook))
            guard Sys.exists(path) else { continue }
            let counters = try PinnedMap(path: path, name: MapNames.counters(hook))
            for (index, name) in counterNames where Int(index) < counters.maxEntries {
                status.counters.append(CounterStatus(hook: hook.rawValue, counter: name, value: try counters.perCPUSum(at: index, cpus: cpus)))
            }
        }

        if let policy {
            let desired = try Encoder.encode(policy, modules: modules, prefilter: prefilter)
            status.drift = Self.drift(desired: desired, current: current)
            // Prefilter of the live generation: only a missing bit is drift (it would hide a
            // binding); extra bits only cost a lookup.
            for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
                guard let words = desired.prefilter?[hook]?[Int(live)] else { continue }
                let missing = Prefilter.missing(desired: words, current: contents[Int(live)].prefilter[hook] ?? [:])
                status.drift += missing.map {
                    DriftEntry(map: Prefilter.mapName(hook), key: "word \($0.word)", problem: .differs,
                               expected: "bits 0x\(String($0.expected, radix: 16)) set", actual: "0x\(String($0.actual, radix: 16))")
                }
            }
            // The standby generation must hold the same, ready for the next switch.
            let lag = GenerationPlan(desired: desired, current: contents[Int(standby)], generation: standby)
            for plan in lag.maps where !plan.isEmpty {
                status.drift.append(DriftEntry(map: plan.map.name, key: "standby generation \(standby)", problem: .differs,
                                               expected: "the revision's entries",
                                               actual: "\(plan.add.count) missing, \(plan.change.count) differing, \(plan.remove.count) unexpected"))
            }
            status.drift += try programSlotDrift(modules: modules) + linkDrift()
        }
        return status
    }

    /// Program-array slots that do not hold the pinned program that belongs there.
    func programSlotDrift(modules: ModuleSlots) throws -> [DriftEntry] {
        try ProgramSlots(layout: layout).check(modules: modules).map { f in
            let expected = f.expected.map { name in "program \(name)" + (f.expectedID.map { " (id \($0))" } ?? " (not pinned)") }
            let actual = f.actualID.map { "program id \($0)" }
            let problem: DriftEntry.Problem = f.actualID == nil ? .missing : (f.expected == nil ? .unexpected : .differs)
            return DriftEntry(map: f.array, key: "slot \(f.slot)", problem: problem, expected: expected, actual: actual)
        }
    }

    /// Links of attached interfaces that are missing, detached or run another program.
    func linkDrift() throws -> [DriftEntry] {
        try attacher.linkFindings().map { f in
            DriftEntry(map: "links", key: "\(f.interface)/\(f.hook.rawValue)", problem: f.wrongProgram ? .differs : .missing,
                       expected: "emptcp's \(f.hook.rawValue) entry attached", actual: f.problem)
        }
    }

    /// The differences between desired and current map contents, described.
    static func drift(desired: DesiredState, current: [MapID: [MapKey: Bytes]]) -> [DriftEntry] {
        var result: [DriftEntry] = []
        for plan in Planner.plan(desired: desired, current: current) {
            let names = desired.chainNames[plan.map.hook] ?? [:]
            let now = current[plan.map] ?? [:]
            for (key, value) in plan.add {
                result.append(DriftEntry(map: plan.map.name, key: EntryText.key(plan.map, key.bytes), problem: .missing,
                                         expected: EntryText.value(plan.map, value, names: names), actual: nil))
            }
            for (key, value) in plan.change {
                result.append(DriftEntry(map: plan.map.name, key: EntryText.key(plan.map, key.bytes), problem: .differs,
                                         expected: EntryText.value(plan.map, value, names: names),
                                         actual: now[key].map { EntryText.value(plan.map, $0, names: names) } ?? "nothing"))
            }
            for key in plan.remove {
                result.append(DriftEntry(map: plan.map.name, key: EntryText.key(plan.map, key.bytes), problem: .unexpected,
                                         expected: nil, actual: now[key].map { EntryText.value(plan.map, $0, names: names) }))
            }
        }
        return result
    }

    func interfaceStatus() throws -> [InterfaceStatus] {
        let attacher = self.attacher
        return try attacher.attachedInterfaces().map { name in
            let ifindex = Sys.interfaceIndex(name)
            var hooks: [HookStatus] = []
            for hook in [Hook.xdp, .tc] where Sys.exists(layout.link(name, hook)) {
                let fd = try Sys.objectGet(layout.link(name, hook))
                let info = try Sys.linkInfo(fd, "link \(layout.link(name, hook))")
                let live = ifindex != nil && info.ifindex == ifindex
                let mode = !live ? "detached" : hook == .tc ? "tcx" : attacher.xdpMode(ifindex: info.ifindex, programID: info.programID)
                hooks.append(HookStatus(hook: hook.rawValue, mode: mode, programID: info.programID))
            }
            if Sys.isDirectory(attacher.clsactMarker(name)) {
                hooks.append(HookStatus(hook: "tc", mode: ifindex != nil && Clsact.hasFilter(name) ? "clsact" : "detached", programID: 0))
            }
            return InterfaceStatus(name: name, ifindex: ifindex, hooks: hooks)
        }
    }
}
