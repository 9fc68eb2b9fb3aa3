import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Stream MPTCP events from the data plane's ring buffer, one line each, until interrupted.",
            discussion: """
                While `emptcp daemon run` runs (its socket answers: --socket, env \
                EMPTCP_DAEMON_SOCKET), the daemon owns the ring buffer and this reads through it, so \
                the daemon and every reader see every record; otherwise it reads \
                <pin root>/maps/emptcp_events itself. Records of an unknown version or type are \
                printed as UNKNOWN and counted.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var socket: DaemonSocketOptions
        @Option(name: .long, help: ArgumentHelp("Stop after this many events (default: until SIGINT/SIGTERM).", valueName: "n"))
        var count: Int?

        func validate() throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
            if DaemonClient.isRunning(socketPath: socket.path) {
                try throughDaemon()
                return
            }
            let reader = try EventReader(pinRoot: global.pinRoot)
            let stop = try StopSignal()
            var printed = 0
            loop: while count.map({ printed < $0 }) ?? true {
                guard try stop.wait(for: [reader.pollDescriptor]) != nil else { break }
                for event in try reader.read() {
                    let line = EventLine(event)
                    EventsOutput.line(output.json ? line.json : line.text)
                    printed += 1
                    if let count, printed >= count { break loop }
                }
            }
            EventsOutput.error("events: \(printed) printed, \(reader.unknownCount) unknown")
        }

        /// Prints the lines the daemon fans out to this subscriber.
        private func throughDaemon() throws {
            let subscription = try EventSubscription(socketPath: socket.path, json: output.json)
            let stop = try StopSignal()
            var printed = 0, unknown = 0
            loop: while count.map({ printed < $0 }) ?? true {
                guard let ready = try stop.wait(for: [subscription.pollDescriptor]) else { break }
                guard ready.contains(subscription.pollDescriptor) else { continue }  // EINTR
                guard let lines = try subscription.lines() else {
                    EventsOutput.error("emptcp events: the daemon closed the stream")
                    break
                }
                for line in lines {
                    EventsOutput.line(line)
                    printed += 1
                    if line.contains(" UNKNOWN ") || line.contains("\"type\":\"UNKNOWN\"") { unknown += 1 }
                    if let count, printed >= count { break loop }
                }
            }
            EventsOutput.error("events: \(printed) printed, \(unknown) unknown (through the daemon)")
        }
    }
}
