import CLibbpf
import Glibc

// BPF iterators: a link for a loaded `iter/...` program, and one run of it read to the end. The
// program is loaded through Kernel/ObjectLoader like every other object; the link keeps it alive
// after the object is closed.

extension Sys {
    /// Attaches a loaded iterator program (BPF_TRACE_ITER, no target parameters: iter/tcp walks
    /// the sockets of the network namespace the reader is in).
    static func iteratorLink(programFD: Int32, _ object: String) throws -> Descriptor {
        let fd = bpf_link_create(programFD, 0, BPF_TRACE_ITER, nil)
        guard fd >= 0 else { throw fail("bpf_link_create(BPF_TRACE_ITER)", object, -fd) }
        return Descriptor(fd)
    }

    /// Runs the iterator once (a fresh `bpf_iter_create` on the link) and returns what it wrote.
    static func readIterator(_ link: Descriptor, _ object: String) throws -> [UInt8] {
        let fd = bpf_iter_create(link.raw)
        guard fd >= 0 else { throw fail("bpf_iter_create", object, -fd) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw fail("read(iterator)", object, errno)
            }
            if n == 0 { break }
            result += chunk[0..<n]
        }
        return result
    }
}
