import CLibbpf
import EmptcpStore

/// The policy maps of both hooks in both generations, `emptcp_live` and `emptcp_meta`: reading
/// a generation, writing a plan into one, and switching the live generation.
struct PolicyMaps: Sendable {
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

    /// What generation `g`'s marker says it holds completely: a revision and the digest of its
    /// content (GenerationDigest); nil fields while it is being written or never was.
    func marker(of g: UInt8) throws -> GenerationMarker {
        let digest = try meta.readInteger(at: MapNames.metaGenerationDigest(g))
        return GenerationMarker(revision: try revision(of: g), digest: digest == 0 ? nil : digest)
    }

    /// Clears `g`'s marker before `g` is written: digest first, then revision, so that no
    /// moment claims a complete generation that is not.
    func markIncomplete(_ g: UInt8) throws {
        try writeMeta(0, at: MapNames.metaGenerationDigest(g))
        try writeMeta(0, at: MapNames.metaGenerationRevision(g))
    }

    /// Sets `g`'s marker once `g` holds `revision` completely: the revision, then its digest
    /// (a kill in between leaves no digest, which the next apply does not trust).
    func markComplete(_ g: UInt8, revision: Int64, digest: UInt64) throws {
        try writeMeta(UInt64(bitPattern: revision), at: MapNames.metaGenerationRevision(g))
        try writeMeta(digest, at: MapNames.metaGenerationDigest(g))
    }

    /// Writes an emptcp_meta slot unless it already holds `value` (a no-op apply writes nothing).
    func writeMeta(_ value: UInt64, at index: UInt32) throws {
        if try meta.readInteger(at: index) != value { try meta.writeInteger(value, at: index) }
    }

    /// Makes `g` live for both hooks with one 4-byte write. The switching marker in emptcp_meta
    /// is set before the flip and stays set: the old generation may be rewritten only once no
    /// packet that began under it is still running, and that wait is left to the next apply
    /// that writes a generation (`finishInterruptedSwitch`), since this one writes no more.
    /// Returns how long the flip itself took.
    @discardableResult
    func switchTo(_ g: UInt8, revision: Int64) throws -> Duration {
        try meta.writeInteger(1, at: MapNames.metaSwitching)
        let clock = ContinuousClock()
        let flip = try clock.measure { try live.writeInteger(UInt64(g), at: 0) }
        try meta.writeInteger(UInt64(bitPattern: revision), at: MapNames.metaRevision)
        return flip
    }

    /// Completes the wait of the last switch, which the apply that flipped left to the next
    /// one to write a generation (or an apply killed in between never finished).
    func finishInterruptedSwitch() throws {
        guard try meta.readInteger(at: MapNames.metaSwitching) != 0 else { return }
        Sys.waitForRunningPrograms()
        try meta.writeInteger(0, at: MapNames.metaSwitching)
    }

    // MARK: reading

    /// What each generation holds (index = generation), keys in neutral form. Hash map entries
    /// of other generation numbers are ignored (nothing reads them), and so are the chain
    /// indexes that hold no chain. With `only`, just that generation's policy maps are collected
    /// (the other's come back empty; the hash maps are still read whole, a generation being a
    /// key byte, but building the other's contents is saved). The prefilter words are read for
    /// the generations of `prefilterOf` (each its own half of the array); the others' stay nil.
    func read(only: UInt8? = nil, prefilterOf: [UInt8] = [0, 1]) throws -> [GenerationContents] {
        let wanted = { (g: Int) in only.map { Int($0) == g } ?? true }
        var result = [GenerationContents](repeating: GenerationContents(), count: Generation.count)
        for (id, map) in maps {
            for g in 0..<Generation.count { result[g].maps[id] = [:] }
            if id.kind.isArray {
                for g in 0..<Generation.count where wanted(g) {
                    if let value = try map.lookup(MapEncoder.u32(UInt32(g))) { result[g].maps[id] = [MapEncoder.zeroKey: value] }
                }
            } else {
                // Split into one dictionary per generation, built locally (no copy-on-write).
                // An array's indexes without a chain (len 0) are not entries; they are not even copied.
                let all = try id.kind == .chains ? map.entries { ($0.first ?? 0) != 0 } : map.entries()
                var split = [[MapKey: Bytes]](repeating: [:], count: Generation.count)
                for g in 0..<Generation.count where wanted(g) { split[g].reserveCapacity(all.count / Generation.count + 1) }
                for (key, value) in all {
                    // an array: indexes without a chain are not entries
                    if id.kind == .chains && value.first ?? 0 == 0 { continue }
                    let (g, neutral) = Generation.split(key, id.kind)
                    if Int(g) < Generation.count && wanted(Int(g)) { split[Int(g)][neutral] = value }
                }
                for g in 0..<Generation.count { result[g].maps[id] = split[g] }
            }
        }
        for g in prefilterOf { result[Int(g)].prefilter = try prefilterWords(of: g) }
        return result
    }

    /// Generation `g`'s prefilter words per hook (word index within the generation); empty when
    /// the prefilter maps were not opened. Only g's half of each array is read.
    func prefilterWords(of g: UInt8) throws -> [Hook: PrefilterWords] {
        var words: [Hook: PrefilterWords] = [:]
        let half = Generation.prefilterIndex(0, g)..<Generation.prefilterIndex(Generation.prefilterWords, g)
        for (hook, map) in prefilters {
            words[hook] = try map.nonzeroWords(in: half).reduce(into: [:]) { $0[$1.key - half.lowerBound] = $1.value }
        }
        return words
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
            // Straight into the packed buffers, stamped with the generation on the way.
            var batch = PinnedMap.Batch(capacity: map.add.count + map.change.count, of: target)
            for entry in map.add { batch.append(Generation.key(entry.key, kind, g), entry.value) }
            for entry in map.change { batch.append(Generation.key(entry.key, kind, g), entry.value) }
            try target.write(batch)
        }
        for (hook, words) in plan.prefilter where !words.isEmpty {
            try prefilters[hook]!.writeWords(words.map { (Generation.prefilterIndex($0.word, g), $0.bits) })
        }
    }
}
