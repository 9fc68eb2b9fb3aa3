import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "List selectors, chains and bindings added, removed or changed from revision A to B (default: current).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("From revision.", valueName: "from")) var a: String
        @Argument(help: ArgumentHelp("To revision (default: current).", valueName: "to")) var b: String?

        func run() throws {
            let from = try RevisionArgument.parse(a)
            let to = try b.map(RevisionArgument.parse)
            let store = try DataPlaneSession(global: global).openStore()
            let diff = try store.diff(from: from, to: to)
            Console.print(output.json ? try Console.json(diff) : diff.text)
        }
    }
}
