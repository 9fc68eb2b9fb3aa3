import ArgumentParser
import EmptcpStore
import Foundation

extension Emptcp {
    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm",
            abstract: "Keep a revision committed with --confirm (else it rolls back by itself).")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: .private) var expireAfter: Int?
        @Option(name: .long, help: .private) var revision: Int64?

        func run() throws {
            if let expireAfter { return try timer(seconds: expireAfter) }
            let store = try DataPlaneSession(global: global).openStore()
            let pending = try store.confirm()
            Console.print("revision \(pending.revision) confirmed")
        }

        /// The timer process started by `commit --confirm`: wait, then open the store, which rolls
        /// back the pending revision if it is still unconfirmed; apply the result if attached.
        private func timer(seconds: Int) throws {
            Thread.sleep(forTimeInterval: TimeInterval(max(0, seconds)))
            let session = DataPlaneSession(global: global)
            var store = try PolicyStore(path: global.db, logger: session.logger)
            // The deadline is kept in milliseconds; the sleep may end a little early.
            while let p = try store.pendingConfirmation(), p.revision == revision, p.deadline > Date() {
                Thread.sleep(forTimeInterval: 0.1)
                store = try PolicyStore(path: global.db, logger: session.logger)
            }
            if !store.expiredOnOpen.isEmpty { _ = session.applyIfAttached(store) }
        }
    }
}
