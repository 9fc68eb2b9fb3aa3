import Glibc

// Starting a process that outlives the one that starts it (the confirmation timer of
// `commit --confirm`). The C calls stay here, behind `Sys`, like every other C call.

extension Sys {
    /// Starts `executable` with `arguments` (argv[1...]) detached from its caller and returns its
    /// pid. The child runs in a process group of its own (POSIX_SPAWN_SETPGROUP with group 0): the
    /// terminal delivers Ctrl-C to its foreground group and, when it hangs up, SIGHUP to the
    /// foreground group and the session leader, so neither reaches the child. (POSIX_SPAWN_SETSID
    /// would do the same, but glibc declares it only under _GNU_SOURCE, which Swift's Glibc module
    /// does not define.) Its stdin, stdout and stderr are /dev/null, and no other descriptor is
    /// inherited: a pipe of whoever ran us (a shell's $(...), a test harness) must not stay open
    /// for the child's lifetime and block its reader.
    package static func spawnDetached(_ executable: String, arguments: [String]) throws -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var rc = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        if rc == 0 { rc = posix_spawnattr_setpgroup(&attributes, 0) }
        guard rc == 0 else { throw fail("posix_spawnattr", executable, rc) }

        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        for fd in Int32(0)...2 {
            rc = posix_spawn_file_actions_addopen(&files, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            guard rc == 0 else { throw fail("posix_spawn_file_actions_addopen", "/dev/null", rc) }
        }
        // Close-on-exec rather than a close action: a listed descriptor may be gone by spawn time.
        for name in listDirectory("/proc/self/fd") {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        rc = posix_spawn(&pid, executable, &files, &attributes, argv, environ)
        guard rc == 0 else { throw fail("posix_spawn", executable, rc) }
        return pid
    }
}
