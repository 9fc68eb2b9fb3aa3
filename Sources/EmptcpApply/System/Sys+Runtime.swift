import CLibbpf
import Glibc

// The C calls of the events, stats, module and injection code: ring buffers, poll, signals,
// unix sockets with peer credentials, raw IP sockets and the few libbpf program accessors the
// applier's Kernel/Sys.swift does not already wrap. Kept in this one file, as an extension of
// the same `Sys` namespace, so every C call of EmptcpApply still sits behind a `Sys.` wrapper
// that throws a `SystemError` naming the operation, the object and the errno text.

extension Sys {
    // MARK: - Ring buffers

    /// Receives raw records from `ring_buffer__poll` (libbpf calls back with a context pointer).
    final class RecordSink {
        var records: [[UInt8]] = []
        /// When set, each record goes here inside libbpf's callback, before the ring's consumer
        /// position moves past it, instead of into `records`.
        var handler: ((UnsafeRawBufferPointer) -> Void)?
    }

    /// A libbpf ring_buffer manager over one RINGBUF map, delivering records into `sink`.
    final class RingBuffer {
        let handle: OpaquePointer
        let sink: RecordSink
        let map: Descriptor

        init(map: Descriptor, object: String) throws {
            let sink = RecordSink()
            let ctx = Unmanaged.passUnretained(sink).toOpaque()
            guard let rb = ring_buffer__new(map.raw, ringBufferSample, ctx, nil) else {
                throw Sys.fail("ring_buffer__new", object, errno != 0 ? errno : EINVAL)
            }
            self.handle = rb
            self.sink = sink
            self.map = map
        }

        deinit { ring_buffer__free(handle) }

        var epollFD: Int32 { ring_buffer__epoll_fd(handle) }

        /// Consumes every record available now, without waiting.
        func drain(_ object: String) throws -> [[UInt8]] {
            let ret = ring_buffer__consume(handle)
            if ret < 0 && -ret != EINTR { throw Sys.fail("ring_buffer__consume", object, -ret) }
            defer { sink.records.removeAll(keepingCapacity: true) }
            return sink.records
        }

        /// Consumes every record available now, handing each to `body` before it is released.
        func consume(_ object: String, _ body: (UnsafeRawBufferPointer) -> Void) throws {
            try withoutActuallyEscaping(body) { escapable in
                sink.handler = escapable
                defer { sink.handler = nil }
                let ret = ring_buffer__consume(handle)
                if ret < 0 && -ret != EINTR { throw Sys.fail("ring_buffer__consume", object, -ret) }
            }
        }
    }

    // MARK: - Waiting

    /// poll(2) over `fds` for input; returns the readable ones. EINTR returns no fd.
    static func waitReadable(_ fds: [Int32], timeoutMs: Int32) throws -> [Int32] {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let n = poll(&polls, nfds_t(polls.count), timeoutMs)
        if n < 0 {
            if errno == EINTR { return [] }
            throw fail("poll", "\(fds.count) descriptors", errno)
        }
        return polls.filter { $0.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 }.map(\.fd)
    }

    // MARK: - Stop signals

    /// SIGINT and SIGTERM become a readable byte on a pipe (the self-pipe trick), so a poll loop
    /// can stop cleanly: no work happens in the signal handler beyond one write(2).
    static func stopPipe() throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw fail("pipe", "stop signal pipe", errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC); _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        stopPipeWriteEnd = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = stopSignalHandler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for sig in [SIGINT, SIGTERM] {
            guard sigaction(sig, &action, nil) == 0 else { throw fail("sigaction", "signal \(sig)", errno) }
        }
        // A client that hangs up must not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        return fds[0]
    }

    /// A peer that closes first must yield EPIPE, not kill the process.
    static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

    // MARK: - Files

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path, errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { throw fail("read", path, errno) }
            if n == 0 { break }
            result += chunk[0..<n]
        }
        return result
    }

    /// Writes atomically (temporary file + rename), mode 0600.
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fail("open", temporary, errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { close(fd); throw fail("write", temporary, errno) }
            written += n
        }
        guard fsync(fd) == 0 else { close(fd); throw fail("fsync", temporary, errno) }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("rename", path, errno) }
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { throw fail("mkdir", current, errno) }
        }
    }

    // MARK: - Programs (libbpf accessors)

    /// The object's programs with their program types (before load).
    static func programTypes(_ object: OpaquePointer) -> [(name: String, type: bpf_prog_type)] {
        var result: [(String, bpf_prog_type)] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            result.append((String(cString: bpf_program__name(current)), bpf_program__type(current)))
            program = bpf_object__next_program(object, current)
        }
        return result
    }

    /// Keeps only `name` of the object's programs loadable (the others are not loaded).
    static func loadOnly(_ object: OpaquePointer, program name: String) {
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            _ = bpf_program__set_autoload(current, String(cString: bpf_program__name(current)) == name)
            program = bpf_object__next_program(object, current)
        }
    }

    static func programID(fd: Int32, _ object: String) throws -> UInt32 {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let ret = bpf_obj_get_info_by_fd(fd, &info, &length)
        guard ret == 0 else { throw fail("bpf_obj_get_info_by_fd", object, -ret) }
        return info.id
    }

    // MARK: - Unix sockets

    static func unixListen(_ path: String) throws -> Descriptor {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket(AF_UNIX)", path, errno) }
        let owned = Descriptor(fd)
        unlink(path)
        var address = try unixAddress(path)
        // Created with no permission for group or others before anyone can connect.
        let old = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard bound == 0 else { throw fail("bind", path, errno) }
        guard chmod(path, 0o600) == 0 else { throw fail("chmod", path, errno) }
        guard listen(fd, 16) == 0 else { throw fail("listen", path, errno) }
        return owned
    }

    static func unixConnect(_ path: String) throws -> Descriptor {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket(AF_UNIX)", path, errno) }
        let owned = Descriptor(fd)
        var address = try unixAddress(path)
        let ret = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ret == 0 else { throw fail("connect", path, errno) }
        return owned
    }

    private static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw fail("socket path", path, ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }

    static func accept(_ listener: Descriptor, _ object: String) throws -> Descriptor? {
        let fd = Glibc.accept(listener.raw, nil, nil)
        if fd < 0 {
            if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { return nil }
            throw fail("accept", object, errno)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return Descriptor(fd)
    }

    /// `struct ucred` (pid, uid, gid): Glibc's Swift module hides it behind _GNU_SOURCE.
    private struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The connecting process's uid and pid (SO_PEERCRED), set by the kernel at connect time.
    static func peerCredentials(_ fd: Descriptor, _ object: String) throws -> (uid: UInt32, pid: Int32) {
        var cred = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd.raw, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 else {
            throw fail("getsockopt(SO_PEERCRED)", object, errno)
        }
        return (cred.uid, cred.pid)
    }

    /// Sets a receive timeout so one silent client cannot stall the daemon.
    static func setReceiveTimeout(_ fd: Descriptor, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd.raw, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd.raw, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads up to `limit` bytes or until a newline.
    static func readLine(_ fd: Descriptor, limit: Int, _ object: String) throws -> [UInt8] {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < limit {
            let n = read(fd.raw, &byte, 1)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read", object, errno)
            }
            if n == 0 || byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return line
    }

    static func writeAll(_ fd: Descriptor, _ bytes: [UInt8], _ object: String) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd.raw, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", object, errno)
            }
            written += n
        }
    }

    /// Makes a stream socket non-blocking with a large send buffer (event subscribers).
    static func makeNonBlocking(_ fd: Descriptor, sendBuffer: Int32, _ object: String) throws {
        var size = sendBuffer
        _ = setsockopt(fd.raw, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(fd.raw, F_GETFL)
        guard flags >= 0, fcntl(fd.raw, F_SETFL, flags | O_NONBLOCK) == 0 else { throw fail("fcntl(O_NONBLOCK)", object, errno) }
    }

    /// Writes all of `bytes` to a non-blocking socket or nothing useful: false when the peer
    /// is gone or its buffer is full (a partial write leaves the stream unusable as well).
    static func writeWithoutBlocking(_ fd: Descriptor, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { send(fd.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            written += n
        }
        return true
    }

    /// What one read(2) returns (the caller polled first); nil at end of stream.
    static func readAvailable(_ fd: Descriptor, _ object: String) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd.raw, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return [] }
                throw fail("read", object, errno)
            }
            return n == 0 ? nil : Array(chunk[0..<n])
        }
    }

    // MARK: - Raw IP

    /// A raw socket that sends whole IP packets (IPPROTO_RAW implies IP_HDRINCL / IPV6_HDRINCL).
    static func rawIPSocket(v6: Bool) throws -> Descriptor {
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else { throw fail("socket(SOCK_RAW, IPPROTO_RAW)", v6 ? "IPv6" : "IPv4", errno) }
        return Descriptor(fd)
    }

    /// Sends one crafted IP packet to `destination` (4 or 16 bytes).
    static func sendRaw(_ fd: Descriptor, packet: [UInt8], destination: [UInt8], _ object: String) throws {
        let sent: Int
        if destination.count == 4 {
            var to = sockaddr_in()
            to.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &to.sin_addr) { $0.copyBytes(from: destination) }
            sent = withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd.raw, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            var to = sockaddr_in6()
            to.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &to.sin6_addr) { $0.copyBytes(from: destination) }
            sent = withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd.raw, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard sent == packet.count else { throw fail("sendto(raw)", object, sent < 0 ? errno : EMSGSIZE) }
    }
}

/// libbpf ring-buffer callback: copies the record out (the ring slot is released after return).
private let ringBufferSample: ring_buffer_sample_fn = { ctx, data, size in
    guard let ctx, let data else { return 0 }
    let sink = Unmanaged<Sys.RecordSink>.fromOpaque(ctx).takeUnretainedValue()
    if let handler = sink.handler {
        handler(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
    sink.records.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}

/// Write end of the stop pipe; set once before the handlers are installed, then only read by
/// the async-signal-safe handler below.
nonisolated(unsafe) private var stopPipeWriteEnd: Int32 = -1

private let stopSignalHandler: @convention(c) (Int32) -> Void = { _ in
    var byte: UInt8 = 1
    _ = write(stopPipeWriteEnd, &byte, 1)
}

extension Sys {
    /// Writes one line to standard output unbuffered, so a streaming reader sees each event at once.
    static func writeLine(_ text: String, fd: Int32 = 1) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            written += n
        }
    }
}
