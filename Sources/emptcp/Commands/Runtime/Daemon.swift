import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Daemon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon",
            abstract: "emptcpd: own the event streams, track MPTCP connections, repair live connections after an apply.",
            discussion: """
                Without a request flag, runs the daemon until SIGINT/SIGTERM: it is the one reader of \
                the ring buffer (`emptcp events` reads through it) and of the MPTCP path manager's \
                events, keeps connections, removed ADD_ADDRs and queued repairs in the store, and \
                listens on a unix socket (mode 0600; only uid 0 is served). With --recover-add-addr, \
                --restore-prio, --flows or --connections it is a client of a running daemon. FLOW is \
                ADDR:PORT-ADDR:PORT in either direction, IPv6 in brackets.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "The daemon's unix socket (env EMPTCP_DAEMON_SOCKET; default \(DaemonServer.defaultSocket)).")
        var socket = DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)
        @OptionGroup var kernel: KernelOptions
        @Flag(name: .long, help: "Daemon: print each event as `emptcp events` would.") var events = false
        @Flag(name: .long, help: "With --events: JSON lines.") var json = false
        @Option(name: .customLong("recover-add-addr"), help: "Client: re-deliver the removed ADD_ADDRs of FLOW.")
        var recoverAddAddr: String?
        @Option(name: .customLong("restore-prio"), help: "Client: deliver MP_PRIO B=0 on FLOW (undo a backup mark).")
        var restorePrio: String?
        @Flag(name: .long, help: "Client: list the flows the daemon saw on the ring buffer.") var flows = false
        @Flag(name: .long, help: "Client: list the MPTCP connections the daemon tracks (token, subflows).") var connections = false

        func run() throws {
            let requests = [recoverAddAddr != nil, restorePrio != nil, flows, connections].filter { $0 }.count
            guard requests <= 1 else { throw Kernel.usage("daemon", "give at most one of --recover-add-addr, --restore-prio, --flows, --connections") }
            let request: DaemonRequest? =
                if let recoverAddAddr { DaemonRequest(op: DaemonRequest.recoverAddAddr, flow: recoverAddAddr) }
                else if let restorePrio { DaemonRequest(op: DaemonRequest.restorePrio, flow: restorePrio) }
                else if flows { DaemonRequest(op: DaemonRequest.listFlows) }
                else if connections { DaemonRequest(op: DaemonRequest.listConnections) }
                else { nil }
            if let request {
                let reply: DaemonReply
                do { reply = try DaemonClient.send(request, socketPath: socket) } catch { throw Kernel.fail("daemon", error) }
                if flows || connections || json {
                    Kernel.print(try Kernel.json(reply))
                } else if reply.ok {
                    Kernel.print(reply.detail ?? "ok")
                }
                if !reply.ok { throw Kernel.fail("daemon", ReplyError(description: reply.error ?? "failed")) }
                return
            }
            do {
                let logger = Kernel.logger()
                let bpfDir = try ObjectDiscovery.locate(explicit: kernel.bpfDir, environment: ProcessInfo.processInfo.environment)
                let server = try DaemonServer(pinRoot: global.pinRoot, socketPath: socket, store: try Kernel.store(global, logger: logger),
                                              bpfDir: bpfDir, logger: logger)
                if events {
                    let asJSON = json
                    server.onEvent = { (event: EmptcpEvent) in
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
