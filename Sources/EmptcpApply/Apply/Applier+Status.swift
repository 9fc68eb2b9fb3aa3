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

        let kernel = try PolicyMaps(layout: layout, prefilter: prefilter)
        let abi = try kernel.meta.readInteger(at: MapNames.metaABIVersion)
        status.abiVersion = abi == 0 ? nil : abi
        let live = try kernel.liveGeneration()
        let standby = Generation.other(live)
        status.liveGeneration = Int(live)
        status.kernelRevision = try kernel.revision(of: live)
        status.standbyRevision = try kernel.revision(of: standby)
        let contents = try kernel.read()
        let current = contents[Int(live)].maps
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
            // Prefilter of the live generation: only a missing bit is drift (it would hide a
            // binding); extra bits only cost a lookup.
            for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
                guard let words = desired.prefilter(hook, generation: live) else { continue }
                let missing = Prefilter.missing(desired: words, current: contents[Int(live)].prefilter?[hook] ?? [:])
                status.drift += missing.map {
                    DriftEntry(map: Prefilter.mapName(hook), key: "word \($0.word)", problem: .differs,
                               expected: "bits 0x\(String($0.expected, radix: 16)) set", actual: "0x\(String($0.actual, radix: 16))")
                }
            }
            // The standby generation may hold an older revision (the next switch writes it by
            // its delta first); only a standby whose marker claims this content must hold it.
            let claims = try kernel.marker(of: standby).digest
                == GenerationDigest.of(contentHash: policy.contentHash, modules: modules, prefilter: prefilter)
            let lag = GenerationPlan(desired: desired, current: contents[Int(standby)], generation: standby)
            for plan in lag.maps where claims && !plan.isEmpty {
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
            // Listed in key order (bytewise), the same for every run.
            for (key, value) in plan.add.sorted(by: { $0.key < $1.key }) {
                result.append(DriftEntry(map: plan.map.name, key: EntryText.key(plan.map, key.bytes), problem: .missing,
                                         expected: EntryText.value(plan.map, value, names: names), actual: nil))
            }
            for (key, value) in plan.change.sorted(by: { $0.key < $1.key }) {
                result.append(DriftEntry(map: plan.map.name, key: EntryText.key(plan.map, key.bytes), problem: .differs,
                                         expected: EntryText.value(plan.map, value, names: names),
                                         actual: now[key].map { EntryText.value(plan.map, $0, names: names) } ?? "nothing"))
            }
            for key in plan.remove.sorted() {
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
