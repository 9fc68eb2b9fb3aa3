import CLibbpf
import Glibc
import Synchronization

// Every C call of EmptcpApply is under System/, behind the `Sys` namespace (swift-system style):
// each wrapper turns a negative return or NULL into a `SystemError` that names the operation, the
// object and the errno text. This file holds the namespace and its error convention, interface
// names and indexes, and the libbpf calls on pinned objects, maps, programs and links;
// Sys+<Topic>.swift hold the other topics (the process and its children, files, ring buffers,
// polling, signals, sockets, raw sockets, netlink, BPF iterators, ...). Nothing else in
// EmptcpApply calls C.

/// An owned file descriptor, closed exactly once when the last reference goes away.
package final class Descriptor: Sendable {
    package let raw: Int32
    init(_ raw: Int32) { self.raw = raw }
    deinit { Glibc.close(raw) }
}

/// The kernel's BPF_TCX_EGRESS attach type. Debian 12's uapi headers (6.1) predate tcx (6.6),
/// so the value is written here from the kernel's enum bpf_attach_type.
let attachTypeTCXEgress = bpf_attach_type(rawValue: 47)
/// BPF_LINK_TYPE_TCX, for the same reason.
let linkTypeTCX: UInt32 = 11
/// The kernel-internal ENOTSUPP (524) that bpf syscalls can return for unsupported batch ops.
let kernelENOTSUPP: Int32 = 524
/// statfs magic of a bpffs mount.
let bpffsMagic: Int = 0xcafe_4a11

/// The `sz` of a libbpf opts struct: up to the end of the last field used (libbpf's
/// `offsetofend`). Not `MemoryLayout.size`: Swift does not keep the struct's trailing padding
/// zeroed, and libbpf rejects non-zero bytes past the fields it knows.
func optsSize<T, F>(_ field: KeyPath<T, F>, _ type: F.Type) -> Int {
    MemoryLayout<T>.offset(of: field)! + MemoryLayout<F>.size
}

package enum Sys {
    static func fail(_ operation: String, _ object: String, _ code: Int32) -> SystemError {
        SystemError(operation: operation, object: object, code: code)
    }

    /// libbpf returns -errno (and also sets errno); normalise to a positive errno value.
    static func code(_ ret: Int32) -> Int32 { ret < 0 ? -ret : (errno != 0 ? errno : EINVAL) }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
    static let errnoEINVAL = EINVAL

    // MARK: - Interfaces

    static func interfaceIndex(_ name: String) -> UInt32? {
        let index = if_nametoindex(name)
        return index == 0 ? nil : index
    }

    static func interfaceName(_ index: UInt32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buffer) != nil else { return nil }
        return cText(buffer)
    }

    static func interfaces() -> [(index: UInt32, name: String)] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var result: [(UInt32, String)] = []
        var cursor = list
        while cursor.pointee.if_index != 0, let name = cursor.pointee.if_name {
            result.append((cursor.pointee.if_index, String(cString: name)))
            cursor += 1
        }
        return result
    }

    // MARK: - Pinned objects

    package static func objectGet(_ path: String) throws -> Descriptor {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw fail("bpf_obj_get", path, code(fd)) }
        return Descriptor(fd)
    }

    static func objectPin(_ fd: Descriptor, _ path: String) throws {
        let ret = bpf_obj_pin(fd.raw, path)
        guard ret == 0 else { throw fail("bpf_obj_pin", path, code(ret)) }
    }

    static func mapInfo(_ fd: Descriptor, _ object: String) throws -> bpf_map_info {
        try objectInfo(fd, object, bpf_map_info())
    }

    static func programInfo(_ fd: Descriptor, _ object: String) throws -> bpf_prog_info {
        try objectInfo(fd, object, bpf_prog_info())
    }

    /// A link's type, program id and target ifindex. The ifindex sits first in the union for
    /// both XDP and tcx links (`xdp.ifindex`, `tcx.ifindex`); 0 once the device is gone.
    static func linkInfo(_ fd: Descriptor, _ object: String) throws -> (type: UInt32, programID: UInt32, ifindex: UInt32) {
        let info = try objectInfo(fd, object, bpf_link_info())
        return (info.type, info.prog_id, info.xdp.ifindex)
    }

    /// The kernel's info struct of a map, program or link (`empty` is the zeroed struct to fill).
    private static func objectInfo<Info>(_ fd: Descriptor, _ object: String, _ empty: Info) throws -> Info {
        var info = empty
        var length = UInt32(MemoryLayout<Info>.size)
        let ret = withUnsafeMutableBytes(of: &info) { bpf_obj_get_info_by_fd(fd.raw, $0.baseAddress, &length) }
        guard ret == 0 else { throw fail("bpf_obj_get_info_by_fd", object, code(ret)) }
        return info
    }

    // MARK: - Maps

    static func mapLookup(_ fd: Descriptor, _ object: String, key: [UInt8], valueSize: Int) throws -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: valueSize)
        let ret = bpf_map_lookup_elem(fd.raw, key, &value)
        if ret == 0 { return value }
        if code(ret) == ENOENT { return nil }
        throw fail("bpf_map_lookup_elem", object, code(ret))
    }

    static func mapUpdate(_ fd: Descriptor, _ object: String, key: [UInt8], value: [UInt8]) throws {
        let ret = bpf_map_update_elem(fd.raw, key, value, UInt64(BPF_ANY))
        guard ret == 0 else { throw fail("bpf_map_update_elem", object, code(ret)) }
    }

    static func mapDelete(_ fd: Descriptor, _ object: String, key: [UInt8]) throws {
        let ret = bpf_map_delete_elem(fd.raw, key)
        guard ret == 0 || code(ret) == ENOENT else { throw fail("bpf_map_delete_elem", object, code(ret)) }
    }

    static func mapNextKey(_ fd: Descriptor, _ object: String, after key: [UInt8]?, keySize: Int) throws -> [UInt8]? {
        var next = [UInt8](repeating: 0, count: keySize)
        let ret: Int32 = if let key { bpf_map_get_next_key(fd.raw, key, &next) } else { bpf_map_get_next_key(fd.raw, nil, &next) }
        if ret == 0 { return next }
        if code(ret) == ENOENT { return nil }
        throw fail("bpf_map_get_next_key", object, code(ret))
    }

    /// Batch update of `count` packed keys and values. Returns false when the map type has no
    /// batch support (the caller then writes element by element).
    static func mapUpdateBatch(_ fd: Descriptor, _ object: String, keys: [UInt8], values: [UInt8], count: Int) throws -> Bool {
        var opts = bpf_map_batch_opts()
        opts.sz = optsSize(\bpf_map_batch_opts.flags, UInt64.self)
        opts.elem_flags = UInt64(BPF_ANY)
        var n = UInt32(count)
        let ret = bpf_map_update_batch(fd.raw, keys, values, &n, &opts)
        if ret == 0 { return true }
        if [EINVAL, kernelENOTSUPP, EOPNOTSUPP].contains(code(ret)) && n == 0 { return false }
        throw fail("bpf_map_update_batch", object, code(ret))
    }

    static func mapDeleteBatch(_ fd: Descriptor, _ object: String, keys: [UInt8], count: Int) throws -> Bool {
        var opts = bpf_map_batch_opts()
        opts.sz = optsSize(\bpf_map_batch_opts.flags, UInt64.self)
        var n = UInt32(count)
        let ret = bpf_map_delete_batch(fd.raw, keys, &n, &opts)
        if ret == 0 { return true }
        if [EINVAL, kernelENOTSUPP, EOPNOTSUPP].contains(code(ret)) && n == 0 { return false }
        throw fail("bpf_map_delete_batch", object, code(ret))
    }

    /// One step of a batch lookup: fills up to `count` entries, returns how many and whether the
    /// map is exhausted; nil when the map type has no batch support.
    static func mapLookupBatch(
        _ fd: Descriptor, _ object: String, token: inout [UInt8], first: Bool,
        keys: inout [UInt8], values: inout [UInt8], count: Int
    ) throws -> (count: Int, done: Bool)? {
        var opts = bpf_map_batch_opts()
        opts.sz = optsSize(\bpf_map_batch_opts.flags, UInt64.self)
        var n = UInt32(count)
        var out = [UInt8](repeating: 0, count: token.count)
        let ret: Int32 = first
            ? bpf_map_lookup_batch(fd.raw, nil, &out, &keys, &values, &n, &opts)
            : bpf_map_lookup_batch(fd.raw, &token, &out, &keys, &values, &n, &opts)
        token = out
        if ret == 0 { return (Int(n), false) }
        if code(ret) == ENOENT { return (Int(n), true) }
        if [EINVAL, kernelENOTSUPP, EOPNOTSUPP].contains(code(ret)) && first && n == 0 { return nil }
        throw fail("bpf_map_lookup_batch", object, code(ret))
    }

    /// The prefilter bit of an encoded tcp2/tcp4 key: abi.h's `emptcp_prefilter_bit`, the very
    /// function the data path runs, so both sides always agree.
    static func prefilterBit(_ key: UnsafeRawBufferPointer) -> UInt32 {
        emptcp_prefilter_bit(key.baseAddress, UInt32(key.count))
    }

    package static func possibleCPUs() throws -> Int {
        let n = libbpf_num_possible_cpus()
        guard n > 0 else { throw fail("libbpf_num_possible_cpus", "/sys/devices/system/cpu/possible", code(n)) }
        return Int(n)
    }

    // MARK: - Objects and programs

    /// Captured libbpf messages of the current load, so they go to the verifier log file instead
    /// of stderr.
    static func silenceLibbpf() { _ = libbpf_set_print(libbpfPrint) }

    static func openObject(_ path: String, pinRoot: String, logBuffer: UnsafeMutableBufferPointer<CChar>) throws -> OpaquePointer {
        var opts = bpf_object_open_opts()
        opts.sz = optsSize(\bpf_object_open_opts.kernel_log_level, UInt32.self)
        opts.kernel_log_buf = logBuffer.baseAddress
        opts.kernel_log_size = logBuffer.count
        let object: OpaquePointer? = pinRoot.withCString { root in
            opts.pin_root_path = root
            return bpf_object__open_file(path, &opts)
        }
        guard let object else { throw fail("bpf_object__open_file", path, errno) }
        return object
    }

    static func loadObject(_ object: OpaquePointer, _ path: String) -> Int32 {
        let ret = bpf_object__load(object)
        return ret < 0 ? code(ret) : 0
    }

    static func closeObject(_ object: OpaquePointer) { bpf_object__close(object) }

    /// One program of an opened object: its name, its type and, once loaded, its fd (owned by
    /// the object; -1 before the load or when the program was not loaded).
    package struct ObjectProgram: Sendable {
        package let name: String
        package let type: bpf_prog_type
        package let fd: Int32
    }

    /// The object's programs, in the object's order.
    package static func programs(_ object: OpaquePointer) -> [ObjectProgram] {
        programHandles(object).map {
            ObjectProgram(name: String(cString: bpf_program__name($0)), type: bpf_program__type($0), fd: bpf_program__fd($0))
        }
    }

    /// Keeps only `name` of the object's programs loadable (the others are not loaded).
    static func loadOnly(_ object: OpaquePointer, program name: String) {
        for program in programHandles(object) {
            _ = bpf_program__set_autoload(program, String(cString: bpf_program__name(program)) == name)
        }
    }

    /// Marks every program of the object not loadable: its load then creates (or reuses) and
    /// pins the maps only, with no verifier work.
    static func loadNoProgram(_ object: OpaquePointer) {
        for program in programHandles(object) { _ = bpf_program__set_autoload(program, false) }
    }

    /// How many instructions the verifier processed for the loaded program `fd` (borrowed, not
    /// closed); nil when the kernel does not say.
    static func verifiedInstructions(fd: Int32) -> UInt32? {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let ret = withUnsafeMutableBytes(of: &info) { bpf_obj_get_info_by_fd(fd, $0.baseAddress, &length) }
        return ret == 0 ? info.verified_insns : nil
    }

    /// The one walk over an object's programs.
    private static func programHandles(_ object: OpaquePointer) -> [OpaquePointer] {
        var result: [OpaquePointer] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            result.append(current)
            program = bpf_object__next_program(object, current)
        }
        return result
    }

    /// Pins a program fd owned by an object (borrowed: not closed here).
    package static func pinBorrowed(fd: Int32, _ path: String) throws {
        let ret = bpf_obj_pin(fd, path)
        guard ret == 0 else { throw fail("bpf_obj_pin", path, code(ret)) }
    }

    // MARK: - Links and attach points

    static func linkCreate(program: Descriptor, ifindex: UInt32, type: bpf_attach_type, flags: UInt32, object: String) throws -> Descriptor {
        var opts = bpf_link_create_opts()
        opts.sz = optsSize(\bpf_link_create_opts.flags, UInt32.self)
        opts.flags = flags
        let fd = bpf_link_create(program.raw, Int32(bitPattern: ifindex), type, &opts)
        guard fd >= 0 else { throw fail("bpf_link_create", object, code(fd)) }
        return Descriptor(fd)
    }

    static func linkDetach(_ fd: Descriptor, _ object: String) throws {
        let ret = bpf_link_detach(fd.raw)
        guard ret == 0 || code(ret) == ENOLINK else { throw fail("bpf_link_detach", object, code(ret)) }
    }

    static func xdpQuery(ifindex: UInt32, _ object: String) throws -> bpf_xdp_query_opts {
        var opts = bpf_xdp_query_opts()
        opts.sz = optsSize(\bpf_xdp_query_opts.attach_mode, UInt8.self)
        let ret = bpf_xdp_query(Int32(bitPattern: ifindex), 0, &opts)
        guard ret == 0 else { throw fail("bpf_xdp_query", object, code(ret)) }
        return opts
    }

    static func testRun(_ program: Descriptor, _ object: String, packet: [UInt8], repeat count: UInt32, outputSize: Int)
        throws -> (retval: UInt32, durationNs: UInt32, output: [UInt8])
    {
        var output = [UInt8](repeating: 0, count: outputSize)
        var opts = bpf_test_run_opts()
        opts.sz = optsSize(\bpf_test_run_opts.batch_size, UInt32.self)
        opts.data_size_in = UInt32(packet.count)
        opts.data_size_out = UInt32(outputSize)
        opts.repeat = Int32(clamping: count)
        let ret = packet.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                opts.data_in = input.baseAddress
                opts.data_out = out.baseAddress
                return bpf_prog_test_run_opts(program.raw, &opts)
            }
        }
        guard ret == 0 else { throw fail("bpf_prog_test_run_opts", object, code(ret)) }
        return (opts.retval, opts.duration, Array(output.prefix(Int(opts.data_size_out))))
    }
}

/// The text of a NUL-terminated C buffer.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// libbpf's print callback: formats the message and hands it to `LibbpfLog`.
private let libbpfPrint: libbpf_print_fn_t = { level, format, args in
    guard let format, let args else { return 0 }
    var buffer = [CChar](repeating: 0, count: 2048)
    let n = vsnprintf(&buffer, buffer.count, format, args)
    if n > 0 { LibbpfLog.shared.append(cText(buffer), debug: level == LIBBPF_DEBUG) }
    return 0
}

/// The libbpf message buffer (libbpf's print callback is global and takes no context). libbpf
/// prints on the thread that opens or loads an object, so messages are kept per thread: objects
/// loaded in parallel each get their own messages in their verifier log.
final class LibbpfLog: Sendable {
    static let shared = LibbpfLog()
    private let lines = Mutex<[UInt: [String]]>([:])

    func append(_ line: String, debug: Bool) {
        guard !debug else { return }
        let thread = UInt(pthread_self())
        lines.withLock { lines in
            if lines[thread, default: []].count < 10_000 { lines[thread, default: []].append(line) }
        }
    }

    /// Returns and clears what libbpf printed on this thread since the last call.
    func drain() -> String {
        let thread = UInt(pthread_self())
        return lines.withLock { lines in lines.removeValue(forKey: thread)?.joined() ?? "" }
    }
}
