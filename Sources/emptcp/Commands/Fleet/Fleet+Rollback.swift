import ArgumentParser
import EmptcpFleet

extension Emptcp.Fleet {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "New fleet revision equal to REV (default: the one before the newest); hosts follow.")
        @OptionGroup var fleet: FleetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("Fleet revision to restore.", valueName: "rev")) var revision: Int64?
        @Option(name: .shortAndLong, help: ArgumentHelp("Message.", valueName: "text")) var message: String?

        func run() throws {
            let (target, message) = (revision, self.message)
            let rev = try FleetRun.withRepository(fleet) { try await $0.rollback(to: target, message: message) }
            if output.json { return Console.print(try Console.document(FleetRevisionOutput(rev))) }
            Console.print("fleet revision \(rev.id) restores fleet revision \(rev.rollbackTo.map(String.init) ?? "-") (\(rev.bindingCount) bindings)")
        }
    }
}
