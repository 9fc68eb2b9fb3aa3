import CLibbpf
import Glibc

// Files, directories and mounts.

extension Sys {
    static func fileSystemType(_ path: String) -> Int? {
        var st = statfs()
        guard statfs(path, &st) == 0 else { return nil }
        return Int(st.f_type)
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Device and inode of an open descriptor (fstat): how a process tells whether its stderr is
    /// the stream systemd named in JOURNAL_STREAM.
    package static func fileIdentity(_ fd: Int32) -> (device: UInt64, inode: UInt64)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw fail("mkdir", path, errno) }
    }

    package static func removeDirectory(_ path: String) throws {
        if rmdir(path) != 0 && errno != ENOENT { throw fail("rmdir", path, errno) }
    }

    static func unlinkFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw fail("unlink", path, errno) }
    }

    package static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    package static func mountBPFFS(at path: String) throws {
        if mount("bpf", path, "bpf", 0, nil) != 0 { throw fail("mount bpffs", path, errno) }
    }

    /// Creates a new directory `<prefix>XXXXXX` with a unique suffix (mkdtemp) and returns its path.
    package static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array("\(prefix)XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw fail("mkdtemp", prefix, errno)
        }
        return String(cString: made)
    }

    /// Detaches the mount at `path` (lazily, as `umount -l`: open descriptors keep it alive).
    package static func unmount(_ path: String) throws {
        if umount2(path, Int32(MNT_DETACH)) != 0 { throw fail("umount", path, errno) }
    }

    static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else { throw fail("open", path, errno) }
        defer { fclose(file) }
        if fputs(text, file) < 0 { throw fail("write", path, errno) }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

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
        let failure = writeFully(fd, bytes)
        guard failure == 0 else { close(fd); throw fail("write", temporary, failure) }
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

    /// Writes one line to standard output unbuffered, so a streaming reader sees each event at once.
    static func writeLine(_ text: String, fd: Int32 = 1) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        _ = writeFully(fd, bytes)
    }

    /// Writes all of `bytes` to `fd`, again after a short write or EINTR: 0, or the errno of the
    /// failed write(2).
    static func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            written += n
        }
        return 0
    }
}
