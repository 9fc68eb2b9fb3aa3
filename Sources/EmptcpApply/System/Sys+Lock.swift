import Glibc

// Advisory whole-file locks (flock): the kernel drops one when the last descriptor of its open
// file goes, so a holder that dies, even by SIGKILL, releases it without any cleanup.

extension Sys {
    /// Opens (creating, mode 0600) the lock file at `path`; its directory is made (0700) when missing.
    static func openLockFile(_ path: String) throws -> Descriptor {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw fail("open lock file", path, errno) }
        return Descriptor(fd)
    }

    /// Takes the exclusive lock of `file` without waiting: false when another open file holds it.
    static func tryLockExclusive(_ file: Descriptor, _ path: String) throws -> Bool {
        while flock(file.raw, LOCK_EX | LOCK_NB) != 0 {
            switch errno {
            case EINTR: continue
            case EWOULDBLOCK: return false
            case let err: throw fail("flock", path, err)
            }
        }
        return true
    }

    /// Replaces the lock file's content with `text` (who holds it, for the message of a waiter),
    /// padded with spaces to 64 bytes: one write covers any earlier holder's line, no truncate.
    static func writeLockHolder(_ file: Descriptor, _ text: String) {
        var bytes = Array(text.utf8.prefix(63))
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: 63 - bytes.count) + [UInt8(ascii: "\n")]
        _ = bytes.withUnsafeBytes { pwrite(file.raw, $0.baseAddress, $0.count, 0) }
    }

    /// The lock file's content (at most 256 bytes), "" when unreadable.
    static func readLockHolder(_ file: Descriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { pread(file.raw, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : ""
    }

    /// Whether `file` is still the file at `path` (not unlinked or replaced since it was opened).
    static func isStillLinked(_ file: Descriptor, at path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, let open = fileIdentity(file.raw) else { return false }
        return open.device == UInt64(st.st_dev) && open.inode == UInt64(st.st_ino)
    }

    static func processID() -> Int32 { getpid() }

    static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    static func sleep(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
}
