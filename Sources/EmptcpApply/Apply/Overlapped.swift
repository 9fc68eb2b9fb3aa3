import Dispatch
import Synchronization

/// Runs `background` on another thread while `foreground` runs on this one, and returns both
/// results once both have finished. The apply reads the kernel's maps (system calls) while it
/// encodes the policy (user CPU, the store's connection, which stays on this thread).
/// The foreground's error is thrown first, then the background's.
func overlapped<A, B: Sendable>(_ foreground: () throws -> A, background: @escaping @Sendable () throws -> B) throws -> (A, B) {
    let outcome = Outcome<B>()
    let finished = DispatchSemaphore(value: 0)
    DispatchQueue.global(qos: .userInitiated).async {
        outcome.result.withLock { $0 = Result { try background() } }
        finished.signal()
    }
    let first = Result { try foreground() }
    finished.wait()
    return (try first.get(), try outcome.result.withLock { $0! }.get())
}

/// Where the background thread leaves its result.
private final class Outcome<B: Sendable>: Sendable {
    let result = Mutex<Result<B, any Error>?>(nil)
}
