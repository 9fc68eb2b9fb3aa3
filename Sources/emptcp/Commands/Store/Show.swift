import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a revision (default: current) as a policy file that `commit` accepts unchanged.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("Revision.", valueName: "rev")) var rev: String?

        func run() throws {
            let wanted = try rev.map(RevisionArgument.parse)
            let store = try DataPlaneSession(global: global).openStore(.existing)
            guard let id = try wanted ?? store.currentRevision()?.id else {
                throw StoreError.io(path: global.db, message: "no revision committed yet")
            }
            let policy = try store.policy(at: id)
            Console.print(output.json ? PolicyFile.renderJSON(policy) : PolicyFile.render(policy))
        }
    }
}
