// CLibbpf too: its headers pull in glibc's socket headers, and which module then owns SOCK_* depends on
// which is loaded first; importing both makes them visible either way.
import CLibbpf
import Glibc

// Unix stream sockets with peer credentials: the daemon's control socket and its clients.

extension Sys {
    /// A listening unix socket and what keeps it ours: the lock on `<path>.lock` (held while
    /// the descriptor lives) and the socket file's identity, so that only this listener's own
    /// socket is removed at the end.
    struct UnixListener {
        let socket: Descriptor
        let lock: Descriptor
        let device: UInt64
        let inode: UInt64
    }

    /// Listens at `path` without replacing anything that is not a stale socket of ours: takes an
    /// exclusive `flock` on `<path>.lock` (a second daemon on the same path fails here), refuses
    /// a path holding anything but a socket (a regular file, a symlink, a directory), refuses a
    /// socket someone still accepts connections on, and only then removes the stale socket.
    static func unixListen(_ path: String) throws -> UnixListener {
        let lockPath = path + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lockFD >= 0 else { throw fail("open lock file", lockPath, errno) }
        let lock = Descriptor(lockFD)
        guard try tryLockExclusive(lock, lockPath) else { throw fail("another emptcp daemon holds", lockPath, EWOULDBLOCK) }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw fail("refusing to replace what is not a socket at", path, EEXIST) }
            if (try? unixConnect(path)) != nil { throw fail("another process listens on", path, EADDRINUSE) }
            guard unlink(path) == 0 || errno == ENOENT else { throw fail("unlink stale socket", path, errno) }
        } else if errno != ENOENT {
            throw fail("lstat", path, errno)
        }
        let socket = try bindAndListen(path)
        guard lstat(path, &st) == 0 else { throw fail("lstat", path, errno) }
        return UnixListener(socket: socket, lock: lock, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Removes the listener's socket file if it is still the one it bound (never another's).
    static func removeSocket(_ path: String, of listener: UnixListener) {
        var st = stat()
        guard lstat(path, &st) == 0, UInt64(st.st_dev) == listener.device, UInt64(st.st_ino) == listener.inode else { return }
        unlink(path)
    }

    private static func bindAndListen(_ path: String) throws -> Descriptor {
        var (owned, address) = try unixSocket(path)
        let fd = owned.raw
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
        var (owned, address) = try unixSocket(path)
        let fd = owned.raw
        let ret = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ret == 0 else { throw fail("connect", path, errno) }
        return owned
    }

    /// A new AF_UNIX stream socket (close-on-exec) and the address of `path`.
    private static func unixSocket(_ path: String) throws -> (Descriptor, sockaddr_un) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket(AF_UNIX)", path, errno) }
        return (Descriptor(fd), try unixAddress(path))
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
        let failure = writeFully(fd.raw, bytes)
        guard failure == 0 else { throw fail("write", object, failure) }
    }

    /// Makes a stream socket non-blocking with a large send buffer (event subscribers).
    static func makeNonBlocking(_ fd: Descriptor, sendBuffer: Int32, _ object: String) throws {
        var size = sendBuffer
        _ = setsockopt(fd.raw, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(fd.raw, F_GETFL)
        guard flags >= 0, fcntl(fd.raw, F_SETFL, flags | O_NONBLOCK) == 0 else { throw fail("fcntl(O_NONBLOCK)", object, errno) }
    }

    /// Writes all of `bytes` to a non-blocking socket: false when the peer is gone or its buffer
    /// is full (a partial write leaves the stream unusable as well).
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
}
