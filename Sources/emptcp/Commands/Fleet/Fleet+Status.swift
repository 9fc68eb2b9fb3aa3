import ArgumentParser
import EmptcpFleet
import Foundation

extension Emptcp.Fleet {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Which host runs which fleet revision: in sync, drift (a forced local commit), failed, pending.")
        @OptionGroup var fleet: FleetOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let (head, hosts) = try FleetRun.withRepository(fleet) { repo in (try await repo.head()?.id, try await repo.hosts()) }
            if output.json { return Console.print(try Console.document(FleetStatusOutput(head: head, hosts: hosts.map(FleetHostOutput.init)))) }
            Console.print("fleet revision \(head.map(String.init) ?? "none"), \(hosts.count) host(s)")
            for h in hosts {
                let labels = h.labels.keys.sorted().map { "\($0)=\(h.labels[$0]!)" }.joined(separator: ",")
                var line = "\(h.hostID)  revision \(h.revision.map(String.init) ?? "-")  \(h.state)  seen \(Console.iso(h.lastSeen))"
                if !labels.isEmpty { line += "  \(labels)" }
                if let e = h.error { line += "  error (revision \(h.errorRevision.map(String.init) ?? "-")): \(e)" }
                Console.print(line)
            }
        }
    }
}

struct FleetHostOutput: Encodable {
    var host: FleetHost
    func encode(to encoder: Encoder) throws {
        try host.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(host.state, forKey: .state)
    }
    enum Key: String, CodingKey { case state }
}

struct FleetStatusOutput: Encodable {
    var head: Int64?
    var hosts: [FleetHostOutput]
}
