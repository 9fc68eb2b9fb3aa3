import Glibc

// Unix stream sockets with peer credentials: the daemon's control socket and its clients.

extension Sys {
    static func unixListen(_ path: String) throws -> Descriptor {
        var (owned, address) = try unixSocket(path)
        let fd = owned.raw
        unlink(path)
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
}
