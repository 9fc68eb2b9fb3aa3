import ArgumentParser
import EmptcpApply
import EmptcpMetrics
import Foundation

extension Emptcp {
    /// emptcpd: `daemon run` is the server; `flows`, `connections`, `recover-add-addr` and
    /// `restore-prio` are its clients. The flag spellings of the single-command form (`daemon --flows`, `daemon
    /// --recover-add-addr FLOW`, `daemon --restore-prio FLOW`, bare `daemon` to serve) still work,
    /// hidden from help.
    struct Daemon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon",
            abstract: "emptcpd: own the event streams, track MPTCP connections, repair live connections after an apply.",
            discussion: """
                `daemon run` serves until SIGINT/SIGTERM: it is the one consumer of the ring buffer \
                (`emptcp events` reads through it) and of the MPTCP path manager's events, keeps \
                tracked connections, removed ADD_ADDRs and queued repairs in the store, carries out \
                the live repairs every apply hands it, and listens on a unix socket (mode 0600; \
                only uid 0 is served). The other subcommands are clients of a running daemon. FLOW \
                is ADDR:PORT-ADDR:PORT in either direction, IPv6 in brackets.
                """,
            subcommands: [Run.self, Flows.self, Connections.self, RecoverAddAddr.self, RestorePrio.self])

        // The single-command form. Its options are parsed here first and shared with the
        // subcommands through the same option groups.
        @OptionGroup(visibility: .private) var global: GlobalOptions
        @OptionGroup(visibility: .private) var socket: DaemonSocketOptions
        @OptionGroup(visibility: .private) var server: DaemonServerOptions
        @OptionGroup(visibility: .private) var output: OutputOptions
        @OptionGroup(visibility: .private) var objects: BPFObjectOptions
        @Option(name: .customLong("recover-add-addr"), help: .private) var recoverAddAddr: String?
        @Option(name: .customLong("restore-prio"), help: .private) var restorePrio: String?
        @Flag(name: .long, help: .private) var flows = false
        @Flag(name: .long, help: .private) var connections = false

        func validate() throws {
            if [recoverAddAddr != nil, restorePrio != nil, flows, connections].filter({ $0 }).count > 1 {
                throw ValidationError("give at most one of --recover-add-addr, --restore-prio, --flows, --connections")
            }
        }

        func run() throws {
            if let recoverAddAddr {
                try Daemon.send(DaemonRequest(op: DaemonRequest.recoverAddAddr, flow: recoverAddAddr), socket, json: output.json)
            } else if let restorePrio {
                try Daemon.send(DaemonRequest(op: DaemonRequest.restorePrio, flow: restorePrio), socket, json: output.json)
            } else if flows {
                try Daemon.send(DaemonRequest(op: DaemonRequest.listFlows), socket, json: true)
            } else if connections {
                try Daemon.send(DaemonRequest(op: DaemonRequest.listConnections), socket, json: true)
            } else {
                try Run.serve(global: global, socket: socket, server: server, objects: objects, json: output.json)
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

/// The unix socket between the daemon and its clients (also what `commit`/`rollback` hand live
/// repairs to, and what `emptcp events` reads through).
struct DaemonSocketOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: ArgumentHelp(
        "The daemon's unix socket (env EMPTCP_DAEMON_SOCKET).", valueName: "path"))
    var path = DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)
}

/// What the server prints while it runs, and where it serves its metrics.
struct DaemonServerOptions: ParsableArguments {
    @Flag(name: .long, help: "Print each event as `emptcp events` would (with --json: JSON lines).") var events = false
    @Option(name: .customLong("metrics"), help: ArgumentHelp(
        "Serve Prometheus metrics at http://ADDR/metrics: HOST:PORT, [IPV6]:PORT or :PORT (every address). Off by default.",
        valueName: "addr"))
    var metrics: String?

    /// Checked while parsing: a bad address stops the daemon before anything starts.
    func validate() throws { _ = try metricsAddress }

    var metricsAddress: MetricsAddress? {
        get throws {
            do {
                return try metrics.map(MetricsAddress.init(parsing:))
            } catch let invalid as MetricsAddress.Invalid {
                throw ValidationError(invalid.description)
            }
        }
    }
}

/// A daemon's refusal, printed as its one line.
private struct DaemonRefusal: Error, CustomStringConvertible {
    let description: String
}
