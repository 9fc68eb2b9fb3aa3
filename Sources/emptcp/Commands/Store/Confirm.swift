import ArgumentParser
import EmptcpStore
import Foundation

extension Emptcp {
    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm",
            abstract: "Keep a revision committed with --confirm (else it rolls back by itself).")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: .hidden) var expireAfter: Int?
        @Option(name: .long, help: .hidden) var revision: Int64?

        func run() throws {
            if let expireAfter { return try timer(seconds: expireAfter) }
            try StoreCLI.run("confirm") {
                let store = try StoreCLI.open(global, logger: StoreCLI.logger())
                let p = try store.confirm()
                StoreCLI.print("revision \(p.revision) confirmed")
            }
        }

        /// The timer process spawned by `commit --confirm`: wait, then open the store, which rolls
        /// back the pending revision if it is still unconfirmed; apply the result if attached.
        private func timer(seconds: Int) throws {
            sleep(UInt32(max(0, seconds)))
            try StoreCLI.run("confirm") {
                let logger = StoreCLI.logger()
                var store = try PolicyStore(path: global.db, logger: logger)
                // Our deadline is in milliseconds; sleep(3) may wake a little early.
                while let p = try store.pendingConfirmation(), p.revision == revision, p.deadline > Date() {
                    usleep(100_000)
                    store = try PolicyStore(path: global.db, logger: logger)
                }
                if !store.expiredOnOpen.isEmpty { _ = StoreCLI.applyIfAttached(store, global, logger: logger) }
            }
        }
    }
}
