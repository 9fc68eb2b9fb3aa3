import Glibc

// SIGINT/SIGTERM as a readable pipe, and SIGPIPE ignored, for the long-running commands.

extension Sys {
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
}

/// Write end of the stop pipe; set once before the handlers are installed, then only read by
/// the async-signal-safe handler below.
nonisolated(unsafe) private var stopPipeWriteEnd: Int32 = -1

private let stopSignalHandler: @convention(c) (Int32) -> Void = { _ in
    var byte: UInt8 = 1
    _ = write(stopPipeWriteEnd, &byte, 1)
}
