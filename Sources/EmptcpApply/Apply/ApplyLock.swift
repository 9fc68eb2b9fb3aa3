import Logging
import Synchronization

/// One exclusive lock per data plane (pin root), held for the whole of every change of its
/// kernel state: apply in all its forms (after commit, rollback and confirm expiry, `apply`,
/// `apply --boot`), attach and detach. Two of them interleaving could leave each generation
/// with part of each revision, or the kernel holding a revision the store no longer calls
/// current; under the lock they run one after the other.
///
/// It is an flock on `/run/emptcp/apply-<pin root escaped>.lock` (next to the daemon's socket
/// lock: bpffs cannot hold regular files), so a holder that dies, even by SIGKILL, releases it.
/// A second process waits up to `EMPTCP_LOCK_TIMEOUT` seconds (default 30; 0: do not wait), then
/// fails with one line naming the holder and changes nothing. The lock is reentrant within a
/// process: an apply inside `Applier.exclusively` does not wait for itself.
enum ApplyLock {
    static let directory = "/run/emptcp"
    static let defaultTimeoutSeconds = 30

    /// The lock file of `pinRoot`: the absolute path, without trailing or doubled slashes, with
    /// `/` written `-` and `-`, `%` and every byte outside [A-Za-z0-9._] written %XX (one file
    /// per pin root, and one pin root per file).
    static func path(pinRoot: String) -> String {
        var absolute = pinRoot.hasPrefix("/") ? pinRoot : (Sys.currentDirectory() ?? "") + "/" + pinRoot
        absolute = "/" + absolute.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        var name = ""
        for byte in absolute.utf8.dropFirst() {
            switch byte {
            case UInt8(ascii: "/"): name += "-"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                name += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return "\(directory)/apply-\(name.isEmpty ? "-" : name).lock"
    }

    /// How long a second process waits: env EMPTCP_LOCK_TIMEOUT in whole seconds, else the default.
    static func timeoutSeconds(_ environment: [String: String]) -> Int {
        environment["EMPTCP_LOCK_TIMEOUT"].flatMap { Int($0) }.map { max(0, $0) } ?? defaultTimeoutSeconds
    }

    /// Locks this process holds, by lock path: the open file and how many callers are inside.
    private static let held = Mutex<[String: (file: Descriptor, depth: Int)]>([:])

    /// Runs `body` holding the lock of `pinRoot`, waiting for another holder up to the timeout.
    static func holding<R>(pinRoot: String, operation: String, logger: Logger, _ body: () throws -> R) throws -> R {
        let path = path(pinRoot: pinRoot)
        let nested = held.withLock { locks -> Bool in
            guard locks[path] != nil else { return false }
            locks[path]!.depth += 1
            return true
        }
        if !nested {
            let file = try acquire(path, pinRoot: pinRoot, operation: operation, logger: logger)
            held.withLock { $0[path] = (file, 1) }
        }
        defer {
            // The last one out closes the file, which releases the lock.
            held.withLock { locks in
                locks[path]!.depth -= 1
                if locks[path]!.depth == 0 { locks[path] = nil }
            }
        }
        return try body()
    }

    /// Removes the lock file of `pinRoot` while this process holds the lock: what `detach` does
    /// when it took the whole data plane down. A waiter that then gets the lock of the removed
    /// file sees it is no longer linked and locks the path afresh, so two holders never coexist.
    static func removeFile(pinRoot: String) {
        let path = path(pinRoot: pinRoot)
        guard held.withLock({ $0[path] != nil }) else { return }
        try? Sys.unlinkFile(path)
    }

    private static func acquire(_ path: String, pinRoot: String, operation: String, logger: Logger) throws -> Descriptor {
        var file: Descriptor
        do { file = try Sys.openLockFile(path) } catch let error as SystemError { throw ApplyError.system(error) }
        let timeout = timeoutSeconds(Sys.environment())
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(timeout)
        var told = false
        while true {
            do {
                if try Sys.tryLockExclusive(file, path) {
                    if Sys.isStillLinked(file, at: path) { break }
                    // The holder removed the file (`removeFile`): lock the one at the path now.
                    file = try Sys.openLockFile(path)
                    continue
                }
            } catch let error as SystemError { throw ApplyError.system(error) }
            let holder = Sys.readLockHolder(file).trimmingSuffix()
            guard clock.now < deadline else {
                throw ApplyError.locked(pinRoot: pinRoot, lockPath: path, holder: holder, waitedSeconds: timeout)
            }
            if !told {
                logger.notice("waiting for the data plane lock", metadata: ["pin_root": "\(pinRoot)", "lock.holder": "\(holder)", "lock.path": "\(path)"])
                told = true
            }
            Sys.sleep(milliseconds: 20)
        }
        Sys.writeLockHolder(file, "pid \(Sys.processID()) (\(operation))")
        return file
    }
}

private extension String {
    func trimmingSuffix() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " || last == "\0" { s = s.dropLast() }
        return String(s)
    }
}
