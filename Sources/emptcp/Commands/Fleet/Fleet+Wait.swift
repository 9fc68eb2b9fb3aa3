import ArgumentParser
import EmptcpFleet
import Foundation

extension Emptcp.Fleet {
    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wait",
            abstract: "Wait until every host runs fleet revision REV (or a later one).",
            discussion: """
                Exits 0 when all hosts (at least --hosts of them) report REV or later; 1 when a host \
                reports that REV failed, or at the timeout.
                """)
        @OptionGroup var fleet: FleetOptions
        @Argument(help: ArgumentHelp("Fleet revision.", valueName: "rev")) var revision: Int64
        @Option(name: .long, help: ArgumentHelp("Give up after S seconds.", valueName: "s")) var timeout: Double = 60
        @Option(name: .long, help: ArgumentHelp("Wait for at least N hosts to report.", valueName: "n")) var hosts: Int = 1

        func validate() throws {
            if !(timeout > 0) { throw ValidationError("--timeout takes a positive number of seconds") }
            if hosts < 0 { throw ValidationError("--hosts takes a count") }
        }

        func run() throws {
            let (rev, minimum, deadline) = (revision, hosts, Date().addingTimeInterval(timeout))
            let count = try FleetRun.withRepository(fleet) { repo -> Int in
                _ = try await repo.revision(rev)
                while true {
                    let all = try await repo.hosts()
                    let failed = all.filter { ($0.errorRevision ?? 0) >= rev && ($0.revision ?? 0) < rev }
                    if !failed.isEmpty { throw FleetError.hostsFailed(revision: rev, errors: failed.map { "\($0.hostID): \($0.error ?? "")" }) }
                    let waiting = all.filter { ($0.revision ?? 0) < rev }
                    if waiting.isEmpty && all.count >= minimum { return all.count }
                    if Date() >= deadline {
                        throw FleetError.timeout(revision: rev, waiting: waiting.map(\.hostID) + (all.count < minimum ? ["\(minimum - all.count) unreported"] : []))
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            Console.print("fleet revision \(rev) runs on \(count) host(s)")
        }
    }
}
