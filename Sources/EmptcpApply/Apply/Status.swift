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
    /// The revision in emptcp_meta (nil: none applied).
    public var kernelRevision: Int64?
    public var abiVersion: UInt64?
    public var maps: [MapStatus]
    public var counters: [CounterStatus]
    /// Entries that differ from the policy passed to `status` (empty when none was passed).
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

        let meta = try PinnedMap(path: layout.map(MapNames.meta), name: MapNames.meta)
        let revision = try meta.readInteger(at: MapNames.metaRevision)
        status.kernelRevision = revision == 0 ? nil : Int64(bitPattern: revision)
        let abi = try meta.readInteger(at: MapNames.metaABIVersion)
        status.abiVersion = abi == 0 ? nil : abi

        let maps = try openManagedMaps()
        let current = try read(maps)
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
            // Prefilter: only a missing bit is drift (it would hide a binding); stale bits are not.
            let prefilters = desired.prefilter == nil ? [:] : try openPrefilters()
            for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
                guard let map = prefilters[hook] else { continue }
                let missing = Prefilter.missing(desired: desired.prefilter?[hook] ?? [:], current: try map.nonzeroWords())
                status.drift += missing.map {
                    DriftEntry(map: Prefilter.mapName(hook), key: "word \($0.word)", problem: .differs,
                               expected: "bits 0x\(String($0.expected, radix: 16)) set", actual: "0x\(String($0.actual, radix: 16))")
                }
            }
        }
        return status
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
