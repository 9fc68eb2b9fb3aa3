import ArgumentParser
import EmptcpApply

extension Emptcp.Daemon {
    struct Connections: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connections",
            abstract: "List the MPTCP connections the running daemon tracks: token and subflows (JSON).")
        @OptionGroup var socket: DaemonSocketOptions

        func run() throws {
            try Emptcp.Daemon.send(DaemonRequest(op: DaemonRequest.listConnections), socket, json: true)
        }
    }
}
