import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "List revisions, newest first.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Show at most N revisions.", valueName: "n")) var limit: Int?

        func run() throws {
            let store = try DataPlaneSession(global: global).openStore(.existing)
            let revisions = try store.log(limit: limit)
            if output.json { return Console.print(try Console.document(["revisions": revisions])) }
            let pending = try store.pendingConfirmation()
            for r in revisions {
                var what = r.action == "rollback" ? "rollback to \(r.rollbackTo.map(String.init) ?? "empty")" : "commit"
                if let pending, pending.revision == r.id { what += " (awaiting confirm until \(Console.iso(pending.deadline)))" }
                let msg = r.message.map { "  \($0)" } ?? ""
                Console.printRow("\(r.id)  \(Console.iso(r.createdAt))  \(r.user)@\(r.host)  \(what)  \(r.bindingCount) bindings  \(r.contentHash.prefix(12))\(msg)")
            }
        }
    }
}
