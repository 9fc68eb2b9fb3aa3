import CLibbpf

/// A map opened from its pin, with the sizes the kernel reports.
package struct PinnedMap: Sendable {
    let name: String
    package let fd: Descriptor
    let type: UInt32
    let keySize: Int
    let valueSize: Int
    let maxEntries: Int

    package init(path: String, name: String) throws {
        self.name = name
        fd = try Sys.objectGet(path)
        let info = try Sys.mapInfo(fd, "map \(name)")
        type = info.type
        keySize = Int(info.key_size)
        valueSize = Int(info.value_size)
        maxEntries = Int(info.max_entries)
    }

    private var object: String { "map \(name)" }

    package func lookup(_ key: Bytes) throws -> Bytes? {
        try Sys.mapLookup(fd, object, key: key, valueSize: valueSize)
    }

    package func update(_ key: Bytes, _ value: Bytes) throws {
        try Sys.mapUpdate(fd, object, key: key, value: value)
    }

    func delete(_ key: Bytes) throws {
        try Sys.mapDelete(fd, object, key: key)
    }

    /// Index `index` of an ARRAY map of u32 or u64 values, zero-extended.
    func readInteger(at index: UInt32) throws -> UInt64 {
        guard let value = try lookup(MapEncoder.u32(index)) else { return 0 }
        var result: UInt64 = 0
        for (i, byte) in value.prefix(8).enumerated() { result |= UInt64(byte) << (8 * UInt64(i)) }
        return result
    }

    /// Writes an integer in the map's value width (4 or 8 bytes, host order).
    func writeInteger(_ value: UInt64, at index: UInt32) throws {
        let bytes = withUnsafeBytes(of: value) { Array($0.prefix(valueSize)) }
        try update(MapEncoder.u32(index), bytes)
    }

    /// Sum over CPUs of a u64 PERCPU_ARRAY slot.
    package func perCPUSum(at index: UInt32, cpus: Int) throws -> UInt64 {
        let stride = (valueSize + 7) / 8 * 8
        guard let raw = try Sys.mapLookup(fd, object, key: MapEncoder.u32(index), valueSize: stride * cpus) else { return 0 }
        return (0..<cpus).reduce(UInt64(0)) { sum, cpu in
            sum &+ raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: cpu * stride, as: UInt64.self) }
        }
    }

    /// Every entry of a map whose value `keep` accepts (default: all): batch lookup where the
    /// kernel has it, else key iteration. Values not kept are never copied (an array's unused
    /// indexes are most of it).
    package func entries(keeping keep: (UnsafeRawBufferPointer) -> Bool = { _ in true }) throws -> [MapKey: Bytes] {
        var result: [MapKey: Bytes] = [:]
        let batched = try forEachBatch(chunk: max(1, min(maxEntries, 4096))) { keys, values, count in
            result.reserveCapacity(result.count + count)
            for i in 0..<count {
                let value = UnsafeRawBufferPointer(rebasing: values[(i * valueSize)..<((i + 1) * valueSize)])
                guard keep(value) else { continue }
                result[MapKey(raw: UnsafeRawBufferPointer(rebasing: keys[(i * keySize)..<((i + 1) * keySize)]))] = Array(value)
            }
        }
        return batched ? result : try iterate().filter { entry in entry.value.withUnsafeBytes { keep($0) } }
    }

    /// Reads the map with batch lookups of up to `chunk` entries, handing each step's packed
    /// keys and values to `body`: the whole map, or with `after` (a key of the map) and `limit`,
    /// at most `limit` entries that follow that key in the map's order. False, having read
    /// nothing, when the kernel has no batch lookup for this map type.
    private func forEachBatch(
        chunk: Int, after: Bytes? = nil, limit: Int = .max,
        _ body: (_ keys: UnsafeRawBufferPointer, _ values: UnsafeRawBufferPointer, _ count: Int) -> Void
    ) throws -> Bool {
        // The kernel resumes a batch after the key in the token, so a start key is a token.
        var token = after ?? Bytes(repeating: 0, count: max(keySize, 8))
        var keys = Bytes(repeating: 0, count: chunk * keySize)
        var values = Bytes(repeating: 0, count: chunk * valueSize)
        var first = after == nil
        var left = limit
        while left > 0 {
            guard let step = try Sys.mapLookupBatch(fd, object, token: &token, first: first, keys: &keys, values: &values, count: min(chunk, left))
            else { return false }
            first = false
            left -= step.count
            keys.withUnsafeBytes { k in values.withUnsafeBytes { v in body(k, v, step.count) } }
            if step.done || step.count == 0 { return true }
        }
        return true
    }

    private func iterate() throws -> [MapKey: Bytes] {
        var result: [MapKey: Bytes] = [:]
        var key: Bytes? = nil
        while let next = try Sys.mapNextKey(fd, object, after: key, keySize: keySize) {
            if let value = try lookup(next) { result[MapKey(next)] = value }
            key = next
        }
        return result
    }

    /// Entries packed for one batch write: keys and values back to back, as the kernel reads
    /// them, without an array per entry (100k entries at a time).
    struct Batch {
        private(set) var keys = Bytes()
        private(set) var values = Bytes()
        private(set) var count = 0

        init(capacity: Int, of map: PinnedMap) {
            keys.reserveCapacity(capacity * map.keySize)
            values.reserveCapacity(capacity * map.valueSize)
        }

        mutating func append(_ key: MapKey, _ value: Bytes) {
            key.withBytes { keys.append(contentsOf: $0) }
            values.append(contentsOf: value)
            count += 1
        }
    }

    /// Writes entries: one batch where the map supports it, else element by element.
    func write(_ entries: [(key: MapKey, value: Bytes)]) throws {
        var batch = Batch(capacity: entries.count, of: self)
        for entry in entries { batch.append(entry.key, entry.value) }
        try write(batch)
    }

    /// Writes a packed batch: one BPF_MAP_UPDATE_BATCH where the map supports it, else element by element.
    func write(_ batch: Batch) throws {
        guard batch.count > 0 else { return }
        if batch.count > 1, try Sys.mapUpdateBatch(fd, object, keys: batch.keys, values: batch.values, count: batch.count) { return }
        for i in 0..<batch.count {
            try update(Array(batch.keys[(i * keySize)..<((i + 1) * keySize)]), Array(batch.values[(i * valueSize)..<((i + 1) * valueSize)]))
        }
    }

    /// The nonzero values of an ARRAY map of u64 (a prefilter) at the indexes of `range`, by
    /// index: batch lookup where the kernel has it, else one lookup per index.
    func nonzeroWords(in range: Range<UInt32>) throws -> [UInt32: UInt64] {
        var result: [UInt32: UInt64] = [:]
        let indexes = range.clamped(to: 0..<UInt32(maxEntries))
        guard !indexes.isEmpty else { return result }
        let batched = try forEachBatch(chunk: indexes.count, after: indexes.lowerBound == 0 ? nil : MapEncoder.u32(indexes.lowerBound - 1),
                                       limit: indexes.count) { keys, values, count in
            for i in 0..<count {
                let word = values.loadUnaligned(fromByteOffset: i * valueSize, as: UInt64.self)
                if word != 0 { result[keys.loadUnaligned(fromByteOffset: i * keySize, as: UInt32.self)] = word }
            }
        }
        if batched { return result }
        for index in indexes {
            let word = try readInteger(at: index)
            if word != 0 { result[index] = word }
        }
        return result
    }

    /// Writes u64 words of an ARRAY map by index.
    func writeWords(_ words: [(word: UInt32, bits: UInt64)]) throws {
        try write(words.map { (MapKey(MapEncoder.u32($0.word)), withUnsafeBytes(of: $0.bits) { Array($0) }) })
    }

    package func remove(_ keys: [MapKey]) throws {
        guard !keys.isEmpty else { return }
        if keys.count > 1 {
            var packed = Bytes()
            packed.reserveCapacity(keys.count * keySize)
            for key in keys { key.withBytes { packed.append(contentsOf: $0) } }
            if try Sys.mapDeleteBatch(fd, object, keys: packed, count: keys.count) { return }
        }
        for key in keys { try delete(key.bytes) }
    }
}
