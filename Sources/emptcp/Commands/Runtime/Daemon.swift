import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Daemon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon",
            abstract: "emptcpd: consume events and re-deliver removed ADD_ADDRs / restore subflow priority on request.",
            discussion: """
                Without a request flag, runs the daemon until SIGINT/SIGTERM: it reads the ring buffer \
                (so do not run `emptcp events` on the same pin root at the same time; use --events \
                here instead) and listens on a unix socket (mode 0600; only uid 0 is served). With \
                --recover-add-addr, --restore-prio or --flows it is a client of a running daemon. \
                FLOW is ADDR:PORT-ADDR:PORT in either direction, IPv6 in brackets.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "The daemon's unix socket.") var socket = DaemonServer.defaultSocket
        @Flag(name: .long, help: "Daemon: print each event as `emptcp events` would.") var events = false
        @Flag(name: .long, help: "With --events: JSON lines.") var json = false
        @Option(name: .customLong("recover-add-addr"), help: "Client: re-deliver the removed ADD_ADDRs of FLOW.")
        var recoverAddAddr: String?
        @Option(name: .customLong("restore-prio"), help: "Client: deliver MP_PRIO B=0 on FLOW (undo a backup mark).")
        var restorePrio: String?
        @Flag(name: .long, help: "Client: list the flows the daemon tracks.") var flows = false

        func run() throws {
            let requests = [recoverAddAddr != nil, restorePrio != nil, flows].filter { $0 }.count
            guard requests <= 1 else { throw Kernel.usage("daemon", "give at most one of --recover-add-addr, --restore-prio, --flows") }
            let request: DaemonRequest? =
                if let recoverAddAddr { DaemonRequest(op: DaemonRequest.recoverAddAddr, flow: recoverAddAddr) }
                else if let restorePrio { DaemonRequest(op: DaemonRequest.restorePrio, flow: restorePrio) }
                else if flows { DaemonRequest(op: DaemonRequest.listFlows) }
                else { nil }
            if let request {
                let reply: DaemonReply
                do { reply = try DaemonClient.send(request, socketPath: socket) } catch { throw Kernel.fail("daemon", error) }
                if flows || json {
                    Kernel.print(try Kernel.json(reply))
                } else if reply.ok {
                    Kernel.print(reply.detail ?? "ok")
                }
                if !reply.ok { throw Kernel.fail("daemon", ReplyError(description: reply.error ?? "failed")) }
                return
            }
            do {
                let server = DaemonServer(pinRoot: global.pinRoot, socketPath: socket, logger: Kernel.logger())
                if events {
                    let asJSON = json
                    server.onEvent = { event in
                        let line = EventLine(event)
                        EventsOutput.line(asJSON ? line.json : line.text)
                    }
                }
                try server.run()
            } catch {
                throw Kernel.fail("daemon", error)
            }
        }
    }
}

/// A daemon's refusal, printed as its one line.
private struct ReplyError: Error, CustomStringConvertible {
    let description: String
}
