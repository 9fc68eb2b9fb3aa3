import ArgumentParser
import EmptcpApply

extension Emptcp.Daemon {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the daemon until SIGINT/SIGTERM: consume events, serve requests on the socket.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var socket: DaemonSocketOptions
        @OptionGroup var server: DaemonServerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try Run.serve(global: global, socket: socket, server: server, json: output.json)
        }

        static func serve(global: GlobalOptions, socket: DaemonSocketOptions, server options: DaemonServerOptions, json: Bool) throws {
            let server = DaemonServer(pinRoot: global.pinRoot, socketPath: socket.path, logger: .cli)
            if options.events {
                server.onEvent = { event in
                    let line = EventLine(event)
                    EventsOutput.line(json ? line.json : line.text)
                }
            }
            try server.run()
        }
    }
}
