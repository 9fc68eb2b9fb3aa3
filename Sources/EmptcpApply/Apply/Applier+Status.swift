import EmptcpStore

extension Applier {
    /// The kernel side as it stands; with `policy`, also the drift against it. Reads only.
    public func status(policy: Policy? = nil, modules: ModuleSlots = ModuleSlots()) throws -> DataPlaneStatus {
        try PinRoot.reading(pinRoot) { try readStatus(policy: policy, modules: modules) }
    }

    private func readStatus(policy: Policy?, modules: ModuleSlots) throws -> DataPlaneStatus {
        var status = DataPlaneStatus(pinRoot: pinRoot, loaded: false, interfaces: [], kernelRevision: nil, abiVersion: nil,
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
            case .selectorChain: Int(entries[MapEncoder.zeroKey]?.first ?? 0)
            case .tcpDefault: EntryText.u32(entries[MapEncoder.zeroKey] ?? []) == 0 ? 0 : 1
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
            let desired = try MapEncoder.encode(policy, modules: modules, prefilter: prefilter)
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
