import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a revision (default: current) as a policy file that `commit` accepts unchanged.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: StoreOutputOptions
        @Argument(help: "Revision.") var rev: String?

        func run() throws {
            try StoreCLI.run("show") {
                let wanted = try rev.map(StoreCLI.revisionArgument)
                let store = try StoreCLI.open(global, logger: StoreCLI.logger())
                guard let id = try wanted ?? store.currentRevision()?.id else {
                    throw StoreError.io(path: global.db, message: "no revision committed yet")
                }
                let policy = try store.policy(at: id)
                StoreCLI.print(output.json ? PolicyFile.renderJSON(policy) : PolicyFile.render(policy))
            }
        }
    }
}
