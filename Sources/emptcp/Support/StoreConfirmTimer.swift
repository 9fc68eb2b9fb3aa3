import EmptcpStore
import Foundation
import Glibc

/// The detached timer behind `commit --confirm`: `emptcp confirm --expire-after SECONDS
/// --revision N` in its own session (so closing the terminal or Ctrl-C does not kill it), which
/// sleeps and then opens the store; opening rolls back an expired pending commit, and the timer
/// applies the result if attached. Should the timer die, the next store open does the same.
enum StoreConfirmTimer {
    /// POSIX_SPAWN_SETSID (glibc ≥ 2.26): Glibc declares it only under _GNU_SOURCE, so Swift
    /// does not see it.
    private static let posixSpawnSetsid: Int16 = 0x80

    static func spawn(global: GlobalOptions, revision: Int64, seconds: Int) throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var args = [exe, "confirm", "--expire-after", "\(seconds)", "--revision", "\(revision)", "--db", global.db, "--pin-root", global.pinRoot]
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, posixSpawnSetsid)
        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&files, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        // Close every other inherited descriptor: a pipe of whoever ran us (a shell's $(...), a
        // test harness) must not stay open for the timer's lifetime and block its reader.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            // Close-on-exec rather than a close action: a listed fd may be gone by spawn time.
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var pid: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawn(&pid, exe, &files, &attr, cArgs, environ)
        args.removeAll()
        if rc != 0 {
            throw StoreError.io(path: exe, message: "cannot start the confirmation timer: \(String(cString: strerror(rc)))")
        }
    }
}
