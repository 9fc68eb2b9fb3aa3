import ArgumentParser
import EmptcpFleet

extension Emptcp.Fleet {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create or upgrade the fleet schema and its two roles (run as the database owner).")
        @OptionGroup var fleet: FleetOptions

        func run() throws {
            let url = try FleetURL.resolve(flag: fleet.url, file: fleet.file)
            let ran = try FleetRun.block {
                try await FleetConnection.with(url, logger: .cli) { try await FleetSchema.migrate($0, logger: .cli) }
            }
            Console.print("fleet schema at version \(FleetSchema.latestVersion)" + (ran.isEmpty ? " (up to date)" : " (ran \(ran.map(String.init).joined(separator: ", ")))"))
        }
    }
}
