import ArgumentParser
import EmptcpStore
import Foundation

extension Emptcp {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "List audit rows (commits, rollbacks, confirmations, failed attempts), oldest first.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: ArgumentHelp(
            "Only rows at or after TIME: ISO-8601 (2026-11-24T21:00:00Z), a date (2026-11-24), or an age such as 90s, 15m, 2h, 7d.",
            valueName: "time"))
        var since: String?

        func validate() throws {
            if let since, TimeArgument.parse(since) == nil { throw ValidationError("--since: cannot read time \(since)") }
        }

        func run() throws {
            let store = try DataPlaneSession(global: global).openStore(.existing)
            let rows = try store.audit(since: since.flatMap { TimeArgument.parse($0) })
            if output.json { return Console.print(try Console.document(["entries": rows])) }
            for r in rows {
                Console.printRow("\(Console.iso(r.time))  \(r.user)  \(r.action)  \(r.revision.map { "r\($0)" } ?? "-")  \(r.outcome.rawValue)  \(r.detail)")
            }
        }
    }
}
