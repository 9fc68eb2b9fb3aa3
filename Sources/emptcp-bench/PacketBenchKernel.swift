import CLibbpf
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every libbpf and system call of the packet benchmark, in one place.
///
/// The benchmark loads the data-plane objects itself into a private bpffs (so it never touches an
/// attached emptcp), fills the program arrays and maps the way the applier does, and times the
/// entry program with BPF_PROG_TEST_RUN. Maps are shared between objects by libbpf's pin-by-name
/// under the private pin root.
struct BenchError: Error, CustomStringConvertible {
    var operation: String
    var object: String
    var cause: String
    var description: String { "\(operation) \(object): \(cause)" }

    static func errno(_ operation: String, _ object: String, _ code: Int32) -> BenchError {
        BenchError(operation: operation, object: object, cause: String(cString: strerror(code)))
    }
}

final class BenchKernel {
    let pinRoot: String
    private var objects: [OpaquePointer] = []
    private var pinRootC: UnsafeMutablePointer<CChar>
    private var mapFDs: [String: Int32] = [:]
    let cpus: Int

    init(workDir: String) throws {
        var template = Array("\(workDir)/emptcp-bench-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError.errno("mkdtemp", workDir, errno)
        }
        pinRoot = String(cString: dir)
        if mount("bpf", pinRoot, "bpf", 0, nil) != 0 {
            let e = errno
            rmdir(pinRoot)
            throw BenchError.errno("mount bpffs", pinRoot, e)
        }
        pinRootC = strdup(pinRoot)
        // libbpf prints whole verifier logs on stderr; a failure is reported as one line instead.
        libbpf_set_print(nil)
        cpus = Int(libbpf_num_possible_cpus())
    }

    deinit {
        for fd in mapFDs.values { close(fd) }
        for obj in objects { bpf_object__close(obj) }
        umount2(pinRoot, Int32(MNT_DETACH))
        rmdir(pinRoot)
        free(pinRootC)
    }

    /// Opens and loads one object file with maps pinned by name under the pin root; pins its
    /// (first) program as `<pin root>/<pinName>` when given; returns the program's fd.
    func loadProgram(_ path: String, pinName: String? = nil) throws -> Int32 {
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        opts.pin_root_path = UnsafePointer(pinRootC)
        guard let obj = bpf_object__open_file(path, &opts), libbpf_get_error(UnsafeRawPointer(obj)) == 0 else {
            throw BenchError.errno("open object", path, errno)
        }
        let err = bpf_object__load(obj)
        if err != 0 {
            bpf_object__close(obj)
            throw BenchError.errno("load object (verifier?)", path, -err)
        }
        objects.append(obj)
        guard let prog = bpf_object__next_program(obj, nil) else {
            throw BenchError(operation: "find program", object: path, cause: "object has no program")
        }
        if let pinName {
            let rc = bpf_program__pin(prog, "\(pinRoot)/\(pinName)")
            if rc != 0 { throw BenchError.errno("pin program", pinName, -rc) }
        }
        return bpf_program__fd(prog)
    }

    /// The fd of the map pinned as `name` under the pin root.
    func map(_ name: String) throws -> Int32 {
        if let fd = mapFDs[name] { return fd }
        let fd = bpf_obj_get("\(pinRoot)/\(name)")
        if fd < 0 { throw BenchError.errno("open pinned map", name, errno) }
        mapFDs[name] = fd
        return fd
    }

    func hasMap(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "\(pinRoot)/\(name)") }

    func update<K, V>(_ name: String, key: K, value: V) throws {
        let fd = try map(name)
        var k = key, v = value
        let rc = withUnsafeBytes(of: &k) { kp in
            withUnsafeBytes(of: &v) { vp in bpf_map_update_elem(fd, kp.baseAddress, vp.baseAddress, 0) }
        }
        if rc != 0 { throw BenchError.errno("update map", name, -rc) }
    }

    /// The value at `key`, nil when absent.
    func lookup<K, V>(_ name: String, key: K, as: V.Type) throws -> V? {
        let fd = try map(name)
        var k = key
        let value = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<V>.size, alignment: MemoryLayout<V>.alignment)
        defer { value.deallocate() }
        let rc = withUnsafeBytes(of: &k) { bpf_map_lookup_elem(fd, $0.baseAddress, value) }
        return rc == 0 ? value.load(as: V.self) : nil
    }

    /// Deletes every key of a hash map (keys of `keySize` bytes).
    func clear(_ name: String, keySize: Int) throws {
        let fd = try map(name)
        var key = [UInt8](repeating: 0, count: keySize)
        var keys: [[UInt8]] = []
        var first = true
        while true {
            var next = [UInt8](repeating: 0, count: keySize)
            let rc = first
                ? bpf_map_get_next_key(fd, nil, &next)
                : bpf_map_get_next_key(fd, &key, &next)
            if rc != 0 { break }
            keys.append(next)
            key = next
            first = false
        }
        for k in keys { _ = bpf_map_delete_elem(fd, k) }
    }

    /// Sum over CPUs of every counter of a per-CPU array of __u64.
    func counters(_ name: String, count: Int) throws -> [UInt64] {
        let fd = try map(name)
        var out = [UInt64](repeating: 0, count: count)
        var values = [UInt64](repeating: 0, count: cpus)
        for i in 0..<count {
            var key = UInt32(i)
            if bpf_map_lookup_elem(fd, &key, &values) == 0 { out[i] = values.reduce(0, &+) }
        }
        return out
    }

    /// Drains the ring buffer pinned as `name`; returns the number of records read.
    func drainRing(_ name: String) throws -> Int {
        let fd = try map(name)
        let count = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        count.initialize(to: 0)
        defer { count.deallocate() }
        guard let rb = ring_buffer__new(fd, { ctx, _, _ in
            ctx!.assumingMemoryBound(to: Int.self).pointee += 1
            return 0
        }, count, nil) else {
            throw BenchError.errno("ring_buffer__new", name, errno)
        }
        defer { ring_buffer__free(rb) }
        while ring_buffer__consume(rb) > 0 {}
        return count.pointee
    }
}
