import ArgumentParser
import EmptcpApply

extension Emptcp.Daemon {
    struct RestorePrio: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore-prio",
            abstract: "Deliver MP_PRIO B=0 on FLOW (undo a backup mark).")
        @OptionGroup var socket: DaemonSocketOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("ADDR:PORT-ADDR:PORT, either direction.", valueName: "flow")) var flow: String

        func run() throws {
            try Emptcp.Daemon.send(DaemonRequest(op: DaemonRequest.restorePrio, flow: flow), socket, json: output.json)
        }
    }
}
