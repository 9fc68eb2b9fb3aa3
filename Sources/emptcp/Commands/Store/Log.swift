import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "List revisions, newest first.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: StoreOutputOptions
        @Option(name: [.customShort("n"), .long], help: "Show at most N revisions.") var limit: Int?

        func run() throws {
            try StoreCLI.run("log") {
                let store = try StoreCLI.open(global, logger: StoreCLI.logger())
                let revisions = try store.log(limit: limit)
                if output.json { return StoreCLI.print(try StoreCLI.json(revisions)) }
                let pending = try store.pendingConfirmation()
                for r in revisions {
                    var what = r.action == "rollback" ? "rollback to \(r.rollbackTo.map(String.init) ?? "empty")" : "commit"
                    if pending?.revision == r.id { what += " (awaiting confirm until \(StoreCLI.iso(pending!.deadline)))" }
                    let msg = r.message.map { "  \($0)" } ?? ""
                    StoreCLI.print("\(r.id)  \(StoreCLI.iso(r.createdAt))  \(r.user)@\(r.host)  \(what)  \(r.bindingCount) bindings  \(r.contentHash.prefix(12))\(msg)")
                }
            }
        }
    }
}
