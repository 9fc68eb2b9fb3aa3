import ArgumentParser
import EmptcpApply

extension Emptcp {
    /// emptcpd: `daemon run` is the server; `flows`, `recover-add-addr` and `restore-prio` are its
    /// clients. The flag spellings of the single-command form (`daemon --flows`, `daemon
    /// --recover-add-addr FLOW`, `daemon --restore-prio FLOW`, bare `daemon` to serve) still work,
    /// hidden from help.
    struct Daemon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon",
            abstract: "emptcpd: consume events and re-deliver removed ADD_ADDRs / restore subflow priority on request.",
            discussion: """
                `daemon run` serves until SIGINT/SIGTERM: it reads the ring buffer (so do not run \
                `emptcp events` on the same pin root at the same time; use `daemon run --events` \
                instead) and listens on a unix socket (mode 0600; only uid 0 is served). The other \
                subcommands are clients of a running daemon. FLOW is ADDR:PORT-ADDR:PORT in either \
                direction, IPv6 in brackets.
                """,
            subcommands: [Run.self, Flows.self, RecoverAddAddr.self, RestorePrio.self])

        // The single-command form. Its options are parsed here first and shared with the
        // subcommands through the same option groups.
        @OptionGroup(visibility: .private) var global: GlobalOptions
        @OptionGroup(visibility: .private) var socket: DaemonSocketOptions
        @OptionGroup(visibility: .private) var server: DaemonServerOptions
        @OptionGroup(visibility: .private) var output: OutputOptions
        @Option(name: .customLong("recover-add-addr"), help: .private) var recoverAddAddr: String?
        @Option(name: .customLong("restore-prio"), help: .private) var restorePrio: String?
        @Flag(name: .long, help: .private) var flows = false

        func validate() throws {
            if [recoverAddAddr != nil, restorePrio != nil, flows].filter({ $0 }).count > 1 {
                throw ValidationError("give at most one of --recover-add-addr, --restore-prio, --flows")
            }
        }

        func run() throws {
            if let recoverAddAddr {
                try Daemon.send(DaemonRequest(op: DaemonRequest.recoverAddAddr, flow: recoverAddAddr), socket, json: output.json)
            } else if let restorePrio {
                try Daemon.send(DaemonRequest(op: DaemonRequest.restorePrio, flow: restorePrio), socket, json: output.json)
            } else if flows {
                try Daemon.send(DaemonRequest(op: DaemonRequest.listFlows), socket, json: true)
            } else {
                try Run.serve(global: global, socket: socket, server: server, json: output.json)
            }
        }

        /// A client request: the reply as JSON, or its detail line; a refusal is an error.
        static func send(_ request: DaemonRequest, _ socket: DaemonSocketOptions, json: Bool) throws {
            let reply = try DaemonClient.send(request, socketPath: socket.path)
            if json {
                // DaemonReply carries its own schema key (the daemon writes the same object on its socket).
                Console.print(try Console.json(reply))
            } else if reply.ok {
                Console.print(reply.detail ?? "ok")
            }
            if !reply.ok { throw DaemonRefusal(description: reply.error ?? "failed") }
        }
    }
}

/// The unix socket between the daemon and its clients.
struct DaemonSocketOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: ArgumentHelp("The daemon's unix socket.", valueName: "path"))
    var path = DaemonServer.defaultSocket
}

/// What the server prints while it runs.
struct DaemonServerOptions: ParsableArguments {
    @Flag(name: .long, help: "Print each event as `emptcp events` would (with --json: JSON lines).") var events = false
}

/// A daemon's refusal, printed as its one line.
private struct DaemonRefusal: Error, CustomStringConvertible {
    let description: String
}
