import CLibbpf
import EmptcpStore

/// The policy maps of both hooks in both generations, `emptcp_live` and `emptcp_meta`: reading
/// a generation, writing a plan into one, and switching the live generation.
struct PolicyMaps {
    let maps: [MapID: PinnedMap]
    let prefilters: [Hook: PinnedMap]
    let live: PinnedMap
    let meta: PinnedMap

    /// - Parameter prefilter: also open the prefilter maps.
    init(layout: PinLayout, prefilter: Bool) throws {
        guard Sys.exists(layout.map(MapNames.meta)) else { throw ApplyError.notLoaded(pinRoot: layout.root) }
        try LegacyNames.refuseOldPins(layout)
        meta = try PinnedMap(path: layout.map(MapNames.meta), name: MapNames.meta)
        // Maps pinned by another layout (an emptcp of another ABI version) are never written.
        let abi = try meta.readInteger(at: MapNames.metaABIVersion)
        guard abi == UInt64(EMPTCP_ABI_VERSION) else {
            throw ApplyError.abiMismatch(pinRoot: layout.root, found: abi, expected: UInt64(EMPTCP_ABI_VERSION))
        }
        var maps: [MapID: PinnedMap] = [:]
        for id in MapID.all { maps[id] = try PinnedMap(path: layout.map(id.name), name: id.name) }
        self.maps = maps
        var prefilters: [Hook: PinnedMap] = [:]
        if prefilter {
            for hook in Hook.allCases { prefilters[hook] = try PinnedMap(path: layout.map(Prefilter.mapName(hook)), name: Prefilter.mapName(hook)) }
        }
        self.prefilters = prefilters
        live = try PinnedMap(path: layout.map(MapNames.live), name: MapNames.live)
    }

    // MARK: generations

    func liveGeneration() throws -> UInt8 { UInt8(try live.readInteger(at: 0) & 1) }

    /// The revision generation `g` holds completely (nil: none, or being written).
    func revision(of g: UInt8) throws -> Int64? {
        let value = try meta.readInteger(at: MapNames.metaGenerationRevision(g))
        return value == 0 ? nil : Int64(bitPattern: value)
    }

    func setRevision(_ revision: Int64?, of g: UInt8) throws {
        let value = UInt64(bitPattern: revision ?? 0)
        if try meta.readInteger(at: MapNames.metaGenerationRevision(g)) != value {
            try meta.writeInteger(value, at: MapNames.metaGenerationRevision(g))
        }
    }

    /// Makes `g` live for both hooks with one 4-byte write, then waits until no packet that
    /// began under the old generation is still running, so the old generation may be rewritten.
    /// The switching marker in emptcp_meta spans the flip and the wait: an apply that finds it
    /// set (the previous one died in between) waits before writing anything.
    /// Returns how long the flip itself took.
    @discardableResult
    func switchTo(_ g: UInt8, revision: Int64) throws -> Duration {
        try meta.writeInteger(1, at: MapNames.metaSwitching)
        let clock = ContinuousClock()
        let flip = try clock.measure { try live.writeInteger(UInt64(g), at: 0) }
        try meta.writeInteger(UInt64(bitPattern: revision), at: MapNames.metaRevision)
        Sys.waitForRunningPrograms()
        try meta.writeInteger(0, at: MapNames.metaSwitching)
        return flip
    }

    /// Completes the wait of a switch that an earlier apply began but did not finish.
    func finishInterruptedSwitch() throws {
        guard try meta.readInteger(at: MapNames.metaSwitching) != 0 else { return }
        Sys.waitForRunningPrograms()
        try meta.writeInteger(0, at: MapNames.metaSwitching)
    }

    // MARK: reading

    /// What each generation holds (index = generation), keys in neutral form. Hash map entries
    /// of other generation numbers are ignored (nothing reads them), and so are the chain
    /// indexes that hold no chain.
    func read(prefilter: Bool) throws -> [GenerationContents] {
        var result = [GenerationContents](repeating: GenerationContents(), count: Generation.count)
        for (id, map) in maps {
            for g in 0..<Generation.count { result[g].maps[id] = [:] }
            if id.kind.isArray {
                for g in 0..<Generation.count {
                    if let value = try map.lookup(MapEncoder.u32(UInt32(g))) { result[g].maps[id] = [MapEncoder.zeroKey: value] }
                }
            } else {
                // Split into one dictionary per generation, built locally (no copy-on-write).
                let all = try map.entries()
                var split = [[MapKey: Bytes]](repeating: [:], count: Generation.count)
                for g in 0..<Generation.count { split[g].reserveCapacity(all.count / Generation.count + 1) }
                for (key, value) in all {
                    // an array: indexes without a chain are not entries
                    if id.kind == .chains && value.first ?? 0 == 0 { continue }
                    let (g, neutral) = Generation.split(key, id.kind)
                    if Int(g) < Generation.count { split[Int(g)][neutral] = value }
                }
                for g in 0..<Generation.count { result[g].maps[id] = split[g] }
            }
        }
        if prefilter {
            for (hook, map) in prefilters {
                for (index, bits) in try map.nonzeroWords() {
                    let g = Int(index / Generation.prefilterWords)
                    if g < Generation.count { result[g].prefilter[hook, default: [:]][index % Generation.prefilterWords] = bits }
                }
            }
        }
        return result
    }

    // MARK: writing

    /// Writes `plan` into its generation: removals first (they free room), then additions and
    /// changes. Only ever called for a generation that is not live.
    func write(_ plan: GenerationPlan) throws {
        let g = plan.generation
        for map in plan.maps where !map.isEmpty {
            let kind = map.map.kind
            let target = maps[map.map]!
            if kind == .chains {
                // an array: a chain is removed by emptying its index
                try target.write(map.remove.map { (Generation.key($0, kind, g), MapEncoder.noChain) })
            } else if !kind.isArray {
                try target.remove(map.remove.map { Generation.key($0, kind, g) })
            }
            try target.write((map.add + map.change).map { (Generation.key($0.key, kind, g), $0.value) })
        }
        for (hook, words) in plan.prefilter where !words.isEmpty {
            try prefilters[hook]!.writeWords(words.map { (Generation.prefilterIndex($0.word, g), $0.bits) })
        }
    }
}
