import ArgumentParser
import EmptcpApply

extension Emptcp.Daemon {
    struct Flows: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "flows",
            abstract: "List the flows the running daemon tracks (JSON).")
        @OptionGroup var socket: DaemonSocketOptions

        func run() throws {
            try Emptcp.Daemon.send(DaemonRequest(op: DaemonRequest.listFlows), socket, json: true)
        }
    }
}
