import ArgumentParser
import EmptcpApply
import EmptcpMetrics
import Foundation
import Logging

extension Emptcp.Daemon {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the daemon until SIGINT/SIGTERM: consume events, track connections, repair them, serve requests.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var socket: DaemonSocketOptions
        @OptionGroup var server: DaemonServerOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var objects: BPFObjectOptions

        func run() throws {
            try Run.serve(global: global, socket: socket, server: server, objects: objects, json: output.json)
        }

        /// The daemon keeps its runtime state in the store at --db and runs the iter/tcp program
        /// from the BPF objects (--bpf-dir).
        static func serve(global: GlobalOptions, socket: DaemonSocketOptions, server options: DaemonServerOptions,
                          objects: BPFObjectOptions, json: Bool) throws {
            let session = DataPlaneSession(global: global)
            let bpfDir = try ObjectDiscovery.locate(explicit: objects.bpfDir, environment: ProcessInfo.processInfo.environment)
            let dbDirectory = (global.db as NSString).deletingLastPathComponent
            let metrics = DaemonMetrics()
            // The listener comes first: an address that cannot be had stops the daemon before it
            // takes the socket, the ring buffer or the path manager's events.
            let endpoint = try options.metricsAddress.map { address in
                let scrape = MetricsScrape(session: session, daemon: metrics)
                return try MetricsServer(address: address) { try scrape.render() }
            }
            defer { endpoint?.stop() }
            if let endpoint { Logger.cli.info("metrics listening", metadata: ["metrics.address": "\(endpoint.listening)"]) }
            let server = try DaemonServer(pinRoot: global.pinRoot, socketPath: socket.path, store: try session.openStore(),
                                          bpfDir: bpfDir, logDirectory: dbDirectory.isEmpty ? "." : dbDirectory, logger: .cli,
                                          metrics: metrics)
            if options.events {
                server.onEvent = { (event: EmptcpEvent) in
                    let line = EventLine(event)
                    EventsOutput.line(json ? line.json : line.text)
                }
            }
            try server.run()
        }
    }
}
