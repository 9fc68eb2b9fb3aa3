import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Make a new revision whose content equals REV (default: the one before the current); applied if attached.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Revision to restore.") var rev: String?
        @Option(name: .shortAndLong, help: "Message (default: rollback to revision REV).") var message: String?
        @Flag(name: .long, help: "Roll back and apply even though the pin root belongs to another store (it becomes this store's).") var force = false

        func run() throws {
            try StoreCLI.run("rollback") {
                let target = try rev.map(StoreCLI.revisionArgument)
                let logger = StoreCLI.logger()
                let store = try StoreCLI.open(global, logger: logger)
                try StoreOwnership.require(store, global, action: "rollback", force: force)
                let r = try store.rollback(to: target, message: message)
                StoreCLI.print("revision \(r.id): restores revision \(r.rollbackTo.map(String.init) ?? "-") (\(r.bindingCount) bindings)")
                if !StoreCLI.applyIfAttached(store, global, logger: logger, force: force) { throw ExitCode.failure }
            }
        }
    }
}
