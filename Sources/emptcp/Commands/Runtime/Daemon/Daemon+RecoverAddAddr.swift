import ArgumentParser
import EmptcpApply

extension Emptcp.Daemon {
    struct RecoverAddAddr: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recover-add-addr",
            abstract: "Re-deliver the ADD_ADDRs removed from FLOW into the local stack.")
        @OptionGroup var socket: DaemonSocketOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("ADDR:PORT-ADDR:PORT, either direction.", valueName: "flow")) var flow: String

        func run() throws {
            try Emptcp.Daemon.send(DaemonRequest(op: DaemonRequest.recoverAddAddr, flow: flow), socket, json: output.json)
        }
    }
}
