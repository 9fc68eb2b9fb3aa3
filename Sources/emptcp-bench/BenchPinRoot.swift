import EmptcpApply

/// The packet benchmark's private bpffs: the data-plane objects are loaded here, never next to an
/// attached emptcp, and their maps are shared between objects by libbpf's pin-by-name under this
/// root. Every kernel call goes through EmptcpApply's System layer (`Sys`, `ObjectLoader`,
/// `PinnedMap`); the mount and its directory go when the value does.
final class BenchPinRoot {
    let pinRoot: String
    let cpus: Int
    private let loader: ObjectLoader
    private var maps: [String: PinnedMap] = [:]

    /// Mounts a fresh bpffs under `workDir`; a verifier rejection's log is saved in `workDir`.
    init(workDir: String) throws {
        pinRoot = try Sys.makeTemporaryDirectory(prefix: "\(workDir)/emptcp-bench-")
        do {
            try Sys.mountBPFFS(at: pinRoot)
            cpus = try Sys.possibleCPUs()
        } catch {
            try? Sys.removeDirectory(pinRoot)
            throw error
        }
        loader = ObjectLoader(mapPins: pinRoot, logDirectory: workDir)
    }

    deinit {
        maps.removeAll()
        try? Sys.unmount(pinRoot)
        try? Sys.removeDirectory(pinRoot)
    }

    /// Loads `<bpfDir>/<hook>/<object>.o` and keeps its (first) program: pinned as
    /// `<pin root>/<pinName>`, and/or in slot `slot.index` of the program array `slot.array`.
    func load(_ bpfDir: String, hook: String, object: String, pinName: String? = nil,
              slot: (array: String, index: UInt32)? = nil) throws {
        let path = "\(bpfDir)/\(hook)/\(object).o"
        try loader.load(path, shown: "\(hook)/\(object).o", logName: "bench-\(hook)-\(object)") { programs in
            guard let program = programs.first else { throw BenchFailure("\(path): object has no program") }
            if let pinName { try Sys.pinBorrowed(fd: program.fd, "\(pinRoot)/\(pinName)") }
            if let slot { try update(slot.array, key: slot.index, value: UInt32(bitPattern: program.fd)) }
        }
    }

    /// The map pinned as `name` under the pin root.
    func map(_ name: String) throws -> PinnedMap {
        if let map = maps[name] { return map }
        let map = try PinnedMap(path: "\(pinRoot)/\(name)", name: name)
        maps[name] = map
        return map
    }

    func hasMap(_ name: String) -> Bool { Sys.exists("\(pinRoot)/\(name)") }

    /// Writes the bytes of `value` at the bytes of `key` (abi.h structs and integers).
    func update<K, V>(_ name: String, key: K, value: V) throws {
        try map(name).update(withUnsafeBytes(of: key) { Array($0) }, withUnsafeBytes(of: value) { Array($0) })
    }

    /// The value at `key`, nil when absent.
    func lookup<K, V>(_ name: String, key: K, as: V.Type) throws -> V? {
        try map(name).lookup(withUnsafeBytes(of: key) { Array($0) }).map { $0.withUnsafeBytes { $0.loadUnaligned(as: V.self) } }
    }

    /// Deletes every key of a hash map.
    func clear(_ name: String) throws {
        let map = try map(name)
        try map.remove(Array(try map.entries().keys))
    }

    /// Sum over CPUs of every counter of a per-CPU array of __u64.
    func counters(_ name: String, count: Int) throws -> [UInt64] {
        let map = try map(name)
        return try (0..<count).map { try map.perCPUSum(at: UInt32($0), cpus: cpus) }
    }

    /// Drains the ring buffer pinned as `name`; returns the number of records read.
    func drainRing(_ name: String) throws -> Int {
        let ring = try Sys.RingBuffer(map: map(name).fd, object: name)
        var count = 0
        while true {
            let records = try ring.drain(name)
            if records.isEmpty { return count }
            count += records.count
        }
    }
}

/// A benchmark set-up failure, one line.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
