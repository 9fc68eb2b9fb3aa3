import Glibc

// The process itself (effective uid, environment, executable path) and the processes it starts:
// `run` for a command whose output we wait for (the tests' only), `spawnDetached` for one that
// outlives us (the confirmation timer of `commit --confirm`).

extension Sys {
    static func effectiveUID() -> UInt32 { geteuid() }

    /// The process environment (without Foundation).
    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            cursor += 1
        }
        return result
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs a program and returns its exit status and combined output. emptcp itself runs no
    /// other program (the clsact fallback goes through libbpf's TC API); the kernel tests use it
    /// to build modules with clang and to clean up.
    static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw fail("pipe", argv.joined(separator: " "), errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        Glibc.close(pipeFDs[1])
        guard spawned == 0 else {
            Glibc.close(pipeFDs[0])
            throw fail("posix_spawnp", argv[0], spawned)
        }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipeFDs[0], &chunk, chunk.count)
            if n <= 0 { break }
            output += chunk[0..<n]
        }
        Glibc.close(pipeFDs[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, String(decoding: output, as: UTF8.self))
    }

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
