import CLibbpf
import Glibc

// The C calls behind pin-root ownership and orphaned-link recognition: creating the small owner
// map, and walking the kernel's BPF links and programs by id (links whose pins are gone are
// reachable only that way).
extension Sys {
    /// A one-entry ARRAY map (u32 key, `valueSize`-byte value) created from user space.
    static func createArrayMap(name: String, valueSize: Int) throws -> Descriptor {
        let fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, UInt32(valueSize), 1, nil)
        guard fd >= 0 else { throw fail("bpf_map_create", "map \(name)", fd < 0 ? -fd : errno) }
        return Descriptor(fd)
    }

    /// Every BPF link id in the kernel, in id order.
    static func linkIDs() -> [UInt32] {
        var ids: [UInt32] = []
        var id: UInt32 = 0
        while bpf_link_get_next_id(id, &id) == 0 { ids.append(id) }
        return ids
    }

    /// A descriptor of link `id`; nil when it went away meanwhile.
    static func link(id: UInt32) -> Descriptor? {
        let fd = bpf_link_get_fd_by_id(id)
        return fd >= 0 ? Descriptor(fd) : nil
    }

    /// The programs on the tcx egress of `ifindex` in this network namespace (BPF_PROG_QUERY).
    /// Link info names only an ifindex, which other namespaces reuse; the query resolves the
    /// device in ours. Empty when none or on kernels without tcx.
    static func tcxEgressProgramIDs(ifindex: UInt32) -> Set<UInt32> {
        var ids = [UInt32](repeating: 0, count: 64)
        var count = UInt32(ids.count)
        var flags: UInt32 = 0
        let ret = bpf_prog_query(Int32(bitPattern: ifindex), attachTypeTCXEgress, 0, &flags, &ids, &count)
        return ret == 0 ? Set(ids.prefix(Int(count))) : []
    }

    /// A descriptor of program `id`; nil when it went away meanwhile.
    static func program(id: UInt32) -> Descriptor? {
        let fd = bpf_prog_get_fd_by_id(id)
        return fd >= 0 ? Descriptor(fd) : nil
    }

    /// A program's name and the names of the maps it uses.
    static func programNameAndMaps(id: UInt32) -> (name: String, maps: [String])? {
        guard let fd = program(id: id) else { return nil }
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(fd.raw, &info, &length) == 0 else { return nil }
        let name = withUnsafeBytes(of: info.name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        // Second call with a buffer for the map ids (the first one only counted them).
        var mapIDs = [UInt32](repeating: 0, count: Int(info.nr_map_ids))
        if !mapIDs.isEmpty {
            var again = bpf_prog_info()
            again.nr_map_ids = UInt32(mapIDs.count)
            let filled = mapIDs.withUnsafeMutableBufferPointer { buffer -> Bool in
                again.map_ids = UInt64(UInt(bitPattern: buffer.baseAddress))
                var size = UInt32(MemoryLayout<bpf_prog_info>.size)
                return bpf_obj_get_info_by_fd(fd.raw, &again, &size) == 0
            }
            if !filled { mapIDs = [] }
        }
        let maps = mapIDs.compactMap { id -> String? in
            let mapFD = bpf_map_get_fd_by_id(id)
            guard mapFD >= 0 else { return nil }
            let map = Descriptor(mapFD)
            guard let info = try? mapInfo(map, "map \(id)") else { return nil }
            return withUnsafeBytes(of: info.name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (name, maps)
    }
}
