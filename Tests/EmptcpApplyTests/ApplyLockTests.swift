import Testing
@testable import EmptcpApply

/// The data plane lock's file name: one file per pin root and one pin root per file (the kernel
/// side — waiting, giving up, a killed holder — is tests/apply_lock/).
@Suite struct ApplyLockTests {
    @Test func pinRootsMapToReadableDistinctLockFiles() {
        #expect(ApplyLock.path(pinRoot: "/sys/fs/bpf/emptcp") == "/run/emptcp/apply-sys-fs-bpf-emptcp.lock")
        // Spellings of one directory share a lock.
        #expect(ApplyLock.path(pinRoot: "/sys/fs/bpf/emptcp/") == ApplyLock.path(pinRoot: "/sys//fs/bpf/emptcp"))
        // A `-` in a name is not a `/`; `%` and other bytes are escaped, so no two roots collide.
        #expect(ApplyLock.path(pinRoot: "/a-b") == "/run/emptcp/apply-a%2db.lock")
        #expect(ApplyLock.path(pinRoot: "/a/b") == "/run/emptcp/apply-a-b.lock")
        #expect(ApplyLock.path(pinRoot: "/a%2db") == "/run/emptcp/apply-a%252db.lock")
        #expect(ApplyLock.path(pinRoot: "/x y_z.1") == "/run/emptcp/apply-x%20y_z.1.lock")
        #expect(ApplyLock.path(pinRoot: "/") == "/run/emptcp/apply--.lock")
    }

    @Test func timeoutComesFromTheEnvironment() {
        #expect(ApplyLock.timeoutSeconds([:]) == ApplyLock.defaultTimeoutSeconds)
        #expect(ApplyLock.timeoutSeconds(["EMPTCP_LOCK_TIMEOUT": "0"]) == 0)
        #expect(ApplyLock.timeoutSeconds(["EMPTCP_LOCK_TIMEOUT": "-3"]) == 0)
        #expect(ApplyLock.timeoutSeconds(["EMPTCP_LOCK_TIMEOUT": "soon"]) == ApplyLock.defaultTimeoutSeconds)
    }
}
