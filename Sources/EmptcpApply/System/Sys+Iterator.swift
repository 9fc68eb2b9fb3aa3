import CLibbpf
import Glibc

// BPF iterators: load an `iter/...` object once, attach it (a bpf_link), and on each read create
// an iterator from the link and read its output to the end. Everything the kernel hands out is
// owned here and released with the loaded iterator.

extension Sys {
    /// A loaded and attached BPF iterator program. Each `read()` runs it afresh over the
    /// objects it iterates (for iter/tcp: the sockets of the caller's network namespace).
    final class LoadedIterator {
        private let object: OpaquePointer
        private let link: OpaquePointer
        let path: String

        init(objectPath path: String, program name: String) throws {
            self.path = path
            guard let object = bpf_object__open_file(path, nil) else {
                throw Sys.fail("bpf_object__open_file", path, errno != 0 ? errno : ENOENT)
            }
            let loaded = bpf_object__load(object)
            guard loaded == 0 else {
                bpf_object__close(object)
                throw Sys.fail("bpf_object__load", path, -loaded)
            }
            guard let program = bpf_object__find_program_by_name(object, name) else {
                bpf_object__close(object)
                throw Sys.fail("find program \(name)", path, ENOENT)
            }
            guard let link = bpf_program__attach_iter(program, nil) else {
                let code = errno
                bpf_object__close(object)
                throw Sys.fail("bpf_program__attach_iter", path, code != 0 ? code : EINVAL)
            }
            self.object = object
            self.link = link
        }

        deinit {
            bpf_link__destroy(link)
            bpf_object__close(object)
        }

        /// Runs the iterator once and returns everything it wrote.
        func read() throws -> [UInt8] {
            let fd = bpf_iter_create(bpf_link__fd(link))
            guard fd >= 0 else { throw Sys.fail("bpf_iter_create", path, -fd) }
            defer { close(fd) }
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = Glibc.read(fd, &chunk, chunk.count)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw Sys.fail("read(iterator)", path, errno)
                }
                if n == 0 { break }
                result += chunk[0..<n]
            }
            return result
        }
    }
}
