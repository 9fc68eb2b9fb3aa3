import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Make a new revision whose content equals REV (default: the one before the current); applied if attached.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("Revision to restore.", valueName: "rev")) var rev: String?
        @Option(name: .shortAndLong, help: ArgumentHelp("Message (default: rollback to revision REV).", valueName: "text")) var message: String?
        @Flag(name: .long, help: "Roll back and apply even though the pin root belongs to another store (it becomes this store's), or this host follows a fleet (shows as drift).")
        var force = false

        func run() throws {
            let target = try rev.map(RevisionArgument.parse)
            let session = DataPlaneSession(global: global)
            let store = try session.openStore()
            try StoreOwnership.require(store, session, action: "rollback", force: force)
            try FleetFollowGuard.check(store, force: force, action: "rollback")
            let r = try store.rollback(to: target, message: message)
            Console.print("revision \(r.id): restores revision \(r.rollbackTo.map(String.init) ?? "-") (\(r.bindingCount) bindings)")
            if !session.applyIfAttached(store, force: force) { throw ExitCode.failure }
        }
    }
}
