import ArgumentParser
import EmptcpStore

extension Emptcp {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "List selectors, chains and bindings added, removed or changed from revision A to B (default: current).",
            discussion: """
                `diff --file FILE [REV]` compares revision REV (default: current) with a policy file \
                that is not committed. With --exit-code the exit status is 1 when there are \
                differences and 0 when there are none, as `git diff --exit-code`.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: ArgumentHelp("Compare a policy file (the 'to' side) with revision A (default: current).", valueName: "file"))
        var file: String?
        @Flag(name: .long, help: "Exit 1 when there are differences, 0 when there are none.") var exitCode = false
        @Argument(help: ArgumentHelp("From revision (with --file: the revision compared with the file; default current).", valueName: "from")) var a: String?
        @Argument(help: ArgumentHelp("To revision (default: current).", valueName: "to")) var b: String?

        /// The `--json` document: the revisions compared (`to` is null for a file) and the changes.
        struct Report: Encodable {
            var from: Int64?
            var to: Int64?
            var file: String?
            var identical: Bool
            var diff: PolicyDiff

            enum CodingKeys: String, CodingKey { case from, to, file, identical, diff }
        }

        func validate() throws {
            if file == nil && a == nil { throw ValidationError("name a revision to compare from, or pass --file FILE") }
            if file != nil && b != nil { throw ValidationError("--file compares one revision with the file: give at most one revision") }
        }

        func run() throws {
            let from = try a.map(RevisionArgument.parse)
            let to = try b.map(RevisionArgument.parse)
            let store = try DataPlaneSession(global: global).openStore(.existing)
            let report: Report
            if let file {
                let (policy, _) = try PolicyFile.load(path: file)
                let base = try from ?? store.currentRevision()?.id
                let diff = PolicyDiff(from: try base.map(store.policy(at:)) ?? Policy(), to: policy)
                report = Report(from: base, to: nil, file: file, identical: diff.isEmpty, diff: diff)
            } else {
                let diff = try store.diff(from: from!, to: to)
                report = Report(from: from, to: try to ?? store.currentRevision()?.id, file: nil, identical: diff.isEmpty, diff: diff)
            }
            if output.json { Console.print(try Console.document(report)) } else { Console.print(report.diff.text) }
            if exitCode && !report.identical { throw ExitCode.failure }
        }
    }
}
