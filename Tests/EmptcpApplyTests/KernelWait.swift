import Glibc

/// Waits for an asynchronous kernel effect (a precondition, never the asserted outcome): polls
/// `condition` every 10 ms, for at most 5 s.
enum KernelWait {
    static func until(_ condition: () throws -> Bool) throws {
        for _ in 0..<500 {
            if try condition() { return }
            usleep(10_000)
        }
    }
}
