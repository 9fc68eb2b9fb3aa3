import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "List selectors, chains and bindings added, removed or changed from revision A to B (default: current).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: StoreOutputOptions
        @Argument(help: "From revision.") var a: String
        @Argument(help: "To revision (default: current).") var b: String?

        func run() throws {
            try StoreCLI.run("diff") {
                let from = try StoreCLI.revisionArgument(a)
                let to = try b.map(StoreCLI.revisionArgument)
                let store = try StoreCLI.open(global, logger: StoreCLI.logger())
                let d = try store.diff(from: from, to: to)
                StoreCLI.print(output.json ? try StoreCLI.json(d) : StoreDiffText.render(d))
            }
        }
    }
}
