import ArgumentParser
import EmptcpApply
import EmptcpFleet
import Foundation
import Logging

extension Emptcp.Fleet {
    /// The host side. A separate loop rather than part of `daemon run`: the daemon needs an
    /// attached data plane (it reads the ring buffer), while a follower must also run, and keep
    /// its store current, on a host that is not attached yet.
    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "follow",
            abstract: "Follow the fleet: commit each new fleet revision into the local store and apply it; report back.",
            discussion: """
                Runs until SIGINT/SIGTERM. At start it re-applies the local current revision (when \
                attached), catches up to the newest fleet revision, then waits on LISTEN. When the \
                fleet is unreachable the host keeps its last revision and reconnects with backoff. \
                While following, a local `emptcp commit` or `rollback` is refused unless --force; a \
                forced one shows as drift in `fleet status` until the next fleet revision.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var fleet: FleetOptions
        @Option(name: .customLong("host-id"), help: ArgumentHelp("This host's id in the fleet (default: the host name).", valueName: "id"))
        var hostID: String?
        @Option(name: .customLong("label"), help: ArgumentHelp("A label KEY=VALUE (repeatable).", valueName: "key=value"))
        var labels: [String] = []
        @Option(name: .long, help: ArgumentHelp("Seconds between reports when nothing changes.", valueName: "s"))
        var heartbeat: Double = 10
        @OptionGroup var bpf: BPFObjectOptions

        func validate() throws {
            for l in labels where !l.contains("=") { throw ValidationError("--label takes KEY=VALUE, not \(l)") }
            if !(heartbeat >= 0.1) { throw ValidationError("--heartbeat takes at least 0.1 seconds") }
        }

        func run() throws {
            let url = try FleetURL.resolve(flag: fleet.url, file: fleet.file)
            let host = hostID ?? ProcessInfo.processInfo.hostName
            var labelMap: [String: String] = [:]
            for l in labels {
                let parts = l.split(separator: "=", maxSplits: 1)
                labelMap[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            let session = DataPlaneSession(global: global)
            let store = try session.openStore()
            try store.startFollowing(hostID: host)
            let agent = FleetStoreAgent(session: session, store: store, bpfDir: bpf.bpfDir)
            let follower = FleetFollower(url: url, hostID: host, labels: labelMap, heartbeat: .milliseconds(Int64(heartbeat * 1000)),
                                         agent: agent, logger: .cli)
            Console.print("following \(url) as \(host)")
            let stop = try StopSignal()
            let task = Task { await follower.run() }
            while try stop.wait(for: []) != nil {}
            task.cancel()
        }
    }
}
