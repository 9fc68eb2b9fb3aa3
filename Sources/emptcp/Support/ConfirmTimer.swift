import EmptcpApply
import EmptcpStore
import Foundation

/// The detached timer behind `commit --confirm`: `emptcp confirm --expire-after SECONDS
/// --revision N`, started outside the terminal's process group (closing the terminal or Ctrl-C
/// does not stop it). It sleeps, then opens the store; opening rolls back an expired pending
/// commit, and the timer applies the result if attached. Should the timer die, the next store
/// open does the same.
enum ConfirmTimer {
    static func start(global: GlobalOptions, revision: Int64, seconds: Int) throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let arguments = ["confirm", "--expire-after", "\(seconds)", "--revision", "\(revision)", "--db", global.db, "--pin-root", global.pinRoot]
        do {
            _ = try Sys.spawnDetached(exe, arguments: arguments)
        } catch {
            throw StoreError.io(path: exe, message: "cannot start the confirmation timer: \(error)")
        }
    }
}
