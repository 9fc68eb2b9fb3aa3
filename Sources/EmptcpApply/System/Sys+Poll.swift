import Glibc

// Waiting for input on several descriptors at once (ring buffers, sockets, the stop pipe).

extension Sys {
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
}
