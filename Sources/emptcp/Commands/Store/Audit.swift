import ArgumentParser
import EmptcpStore
import Foundation

extension Emptcp {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "List audit rows (commits, rollbacks, confirmations, failed attempts), oldest first.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: StoreOutputOptions
        @Option(name: .long, help: "Only rows at or after TIME: ISO-8601 (2026-11-24T21:00:00Z), a date (2026-11-24), or an age such as 90s, 15m, 2h, 7d.")
        var since: String?

        func validate() throws {
            if let since, StoreTime.parse(since) == nil { throw ValidationError("--since: cannot read time \(since)") }
        }

        func run() throws {
            try StoreCLI.run("audit") {
                let store = try StoreCLI.open(global, logger: StoreCLI.logger())
                let rows = try store.audit(since: since.flatMap { StoreTime.parse($0) })
                if output.json { return StoreCLI.print(try StoreCLI.json(rows)) }
                for r in rows {
                    StoreCLI.print("\(StoreCLI.iso(r.time))  \(r.user)  \(r.action)  \(r.revision.map { "r\($0)" } ?? "-")  \(r.outcome.rawValue)  \(r.detail)")
                }
            }
        }
    }
}
