import ArgumentParser
import EmptcpStore
import Foundation

extension Emptcp {
    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "commit",
            abstract: "Validate a policy file (YAML or JSON), or a patch of bindings, and store it as a new revision; applied if attached.",
            discussion: """
                A file identical in content to the current revision is refused. With --patch FILE the \
                file lists bindings to add or re-point (upsert) and keys to remove (remove), applied to \
                the current revision with commit's validation and audit (docs/store.md, "Patch file"); \
                its cost grows with the patch, not with the policy. With --confirm SECONDS \
                the revision is kept only if `emptcp confirm` runs within SECONDS; otherwise it is rolled \
                back by a detached timer process, or at the latest by the next emptcp command that opens \
                the database. Validation errors print as FILE:LINE: key: message and exit 2.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Flag(name: .long, help: "Validate and show the diff and planned map writes, like `emptcp check`; write nothing.") var check = false
        @Argument(help: ArgumentHelp("Policy file.", valueName: "file")) var file: String?
        @Option(name: .long, help: ArgumentHelp("A patch file instead of a policy file: bindings to upsert and to remove.", valueName: "file"))
        var patch: String?
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?
        @Option(name: .long, help: ArgumentHelp("Roll back by itself unless `emptcp confirm` runs within SECONDS.", valueName: "seconds"))
        var confirm: Int?
        @Flag(name: .long, help: "Commit and apply even though the pin root belongs to another store (it becomes this store's), or this host follows a fleet (shows as drift).")
        var force = false

        func validate() throws {
            if (file == nil) == (patch == nil) { throw ValidationError("give a policy file or --patch FILE (one of them)") }
            if check && patch != nil { throw ValidationError("--check takes a policy file, not --patch") }
            if let confirm, !(1...86_400).contains(confirm) { throw ValidationError("--confirm takes 1…86400 seconds") }
            if check && (confirm != nil || message != nil) { throw ValidationError("--check writes nothing: it takes no --confirm or --message") }
            if output.json && !check { throw ValidationError("--json goes with --check") }
        }

        func run() throws {
            if check, let file { return try PolicyCheck(global: global).run(file: file, json: output.json) }
            let session = DataPlaneSession(global: global)
            let store = try session.openStore()
            try StoreOwnership.require(store, session, action: "commit", force: force)
            try FleetFollowGuard.check(store, force: force, action: "commit")
            let within = confirm.map(TimeInterval.init)
            // A patch goes through commit(changes:), the path of `emptcp binding`: it reads and
            // writes only the bindings it names; the kernel follows through the same apply.
            let rev = try patch.map { try store.commitPatch(RawArgument.path($0), message: message, confirmWithin: within) }
                ?? store.commitFile(RawArgument.path(file!), message: message, confirmWithin: within)
            Console.print("revision \(rev.id): \(rev.bindingCount) bindings, content \(rev.contentHash.prefix(12))")
            if let confirm {
                try ConfirmTimer.start(global: global, revision: rev.id, seconds: confirm)
                Console.print("run `emptcp confirm` within \(confirm) s or revision \(rev.id) is rolled back")
            }
            if !session.applyIfAttached(store, force: force) { throw ExitCode.failure }
        }
    }
}
