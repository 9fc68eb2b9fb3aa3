import CLibbpf
import Glibc

extension Sys {
    /// A fresh, unpinned BPF hash map (the benchmarks' raw baseline); freed when the descriptor
    /// closes.
    package static func createHashMap(name: String, keySize: Int, valueSize: Int, maxEntries: Int, noPrealloc: Bool) throws -> Descriptor {
        var opts = bpf_map_create_opts()
        opts.sz = MemoryLayout<bpf_map_create_opts>.size
        opts.map_flags = noPrealloc ? UInt32(BPF_F_NO_PREALLOC) : 0
        let fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, UInt32(keySize), UInt32(valueSize), UInt32(maxEntries), &opts)
        guard fd >= 0 else { throw fail("bpf_map_create", "map \(name)", -fd) }
        return Descriptor(fd)
    }

    /// One bpf_map_update_batch of `count` entries (one bpf_map_update_elem for a single entry).
    package static func writeEntries(_ fd: Descriptor, _ object: String, keys: [UInt8], values: [UInt8], count: Int) throws {
        if count == 1 { return try mapUpdate(fd, object, key: keys, value: values) }
        guard try mapUpdateBatch(fd, object, keys: keys, values: values, count: count) else {
            throw fail("bpf_map_update_batch", object, EOPNOTSUPP)
        }
    }
}
