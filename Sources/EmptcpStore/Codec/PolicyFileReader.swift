import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a policy file through POSIX calls so that what is not a policy file is refused before
/// any of it is read: a FIFO or a terminal would block, a device such as /dev/zero never ends,
/// and a huge file would be read whole and parsed into memory many times its size.
///
/// The file is opened non-blocking (a FIFO open does not wait for a writer), checked with
/// `fstat` on the open descriptor (no race with a rename), and read with a bound.
enum PolicyFileReader {
    /// Largest policy file accepted: 32 MiB. Derivation: a selector map holds 131,072 keys
    /// (`EMPTCP_TCP_KEYS_MAX`), a binding line is under 200 bytes (an IPv6 tcp4 binding in flow
    /// form is about 170), so a full map's bindings take under 25 MiB; the rest is headroom
    /// for selectors, chains and comments.
    static let maxBytes = 32 << 20

    static func read(_ path: PolicyPath) throws -> Data {
        let name = path.description
        let fd = (path.bytes + [0]).withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        }
        guard fd >= 0 else {
            let err = errno
            switch err {
            case ENOENT, ENOTDIR: throw StoreError.validation(file: name, line: nil, key: "file", message: "no such file")
            case EACCES, EPERM: throw StoreError.io(path: name, message: "cannot read policy file: permission denied")
            default: throw StoreError.io(path: name, message: "cannot open policy file: \(String(cString: strerror(err)))")
            }
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw StoreError.io(path: name, message: "cannot stat policy file: \(String(cString: strerror(errno)))")
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG else {
            throw StoreError.validation(file: name, line: nil, key: "file", message: "not a regular file (\(Self.kind(type)))")
        }
        guard st.st_size <= maxBytes else {
            throw StoreError.validation(file: name, line: nil, key: "file", message: "\(st.st_size) bytes, more than the \(maxBytes >> 20) MiB a policy file may hold")
        }
        // Read at most maxBytes + 1: a file that grew past the bound since fstat is refused too.
        var data = Data(count: Int(st.st_size) + 1)
        var total = 0
        while total <= maxBytes {
            if total == data.count { data.count = min(maxBytes + 1, data.count * 2) }
            let want = data.count - total
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: name, message: "cannot read policy file: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            total += n
        }
        guard total <= maxBytes else {
            throw StoreError.validation(file: name, line: nil, key: "file", message: "more than the \(maxBytes >> 20) MiB a policy file may hold")
        }
        data.count = total
        return data
    }

    static func kind(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a plain file"
        }
    }
}
