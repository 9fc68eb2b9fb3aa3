import ArgumentParser
import EmptcpFleet

extension Emptcp.Fleet {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "List fleet revisions, newest first.")
        @OptionGroup var fleet: FleetOptions
        @OptionGroup var output: OutputOptions
        @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Show at most N revisions.", valueName: "n")) var limit: Int?

        func run() throws {
            let limit = self.limit
            let revisions = try FleetRun.withRepository(fleet) { try await $0.log(limit: limit) }
            if output.json { return Console.print(try Console.document(FleetLogOutput(revisions: revisions.map { FleetRevisionOutput($0) }))) }
            for r in revisions {
                let what = r.action == "rollback" ? "rollback to \(r.rollbackTo.map(String.init) ?? "empty")" : "commit"
                Console.printRow("\(r.id)  \(Console.iso(r.createdAt))  \(r.author)@\(r.clientHost)  \(what)  \(r.bindingCount) bindings  \(r.contentHash.prefix(12))\(r.message.map { "  \($0)" } ?? "")")
            }
        }
    }
}

struct FleetLogOutput: Encodable {
    var revisions: [FleetRevisionOutput]
}
