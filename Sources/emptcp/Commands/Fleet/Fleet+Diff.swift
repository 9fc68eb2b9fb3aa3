import ArgumentParser
import EmptcpFleet
import EmptcpStore

extension Emptcp.Fleet {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "diff", abstract: "Differences from fleet revision A to B (default: the newest).")
        @OptionGroup var fleet: FleetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("From revision.", valueName: "a")) var from: Int64
        @Argument(help: ArgumentHelp("To revision (default: the newest).", valueName: "b")) var to: Int64?

        func run() throws {
            let (a, b) = (from, to)
            let (ra, rb) = try FleetRun.withRepository(fleet) { repo -> (FleetRevision, FleetRevision) in
                let ra = try await repo.revision(a)
                if let b { return (ra, try await repo.revision(b)) }
                guard let head = try await repo.head() else { throw FleetError.revisionNotFound(a) }
                return (ra, head)
            }
            let diff = PolicyDiff(from: try PolicyFile.parse(ra.content, file: "fleet revision \(ra.id)").0,
                                  to: try PolicyFile.parse(rb.content, file: "fleet revision \(rb.id)").0)
            if output.json { return Console.print(try Console.document(FleetDiffOutput(from: ra.id, to: rb.id, diff: diff))) }
            Console.print(diff.text)
        }
    }
}

struct FleetDiffOutput: Encodable {
    var from: Int64
    var to: Int64
    var diff: PolicyDiff
}
