import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Stream MPTCP events from the data plane's ring buffer, one line each, until interrupted.",
            discussion: """
                While `emptcp daemon` runs (its socket answers: --socket, env EMPTCP_DAEMON_SOCKET), \
                the daemon owns the ring buffer and this reads through it, so both see every \
                record; otherwise it reads <pin root>/maps/emptcp_events itself. Records of an \
                unknown version or type are printed as UNKNOWN and counted.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "One JSON object per line.") var json = false
        @Option(name: .long, help: "Stop after this many events (default: until SIGINT/SIGTERM).") var count: Int?
        @Option(name: .long, help: "The daemon's unix socket (env EMPTCP_DAEMON_SOCKET).")
        var socket = DaemonServer.socketPath(environment: ProcessInfo.processInfo.environment)

        func run() throws {
            if let count, count < 1 { throw Kernel.usage("events", "--count must be at least 1") }
            do {
                if DaemonClient.isRunning(socketPath: socket) {
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
                        EventsOutput.line(json ? line.json : line.text)
                        printed += 1
                        if let count, printed >= count { break loop }
                    }
                }
                EventsOutput.error("events: \(printed) printed, \(reader.unknownCount) unknown")
            } catch {
                throw Kernel.fail("events", error)
            }
        }

        /// Prints the lines the daemon fans out to this subscriber.
        private func throughDaemon() throws {
            let subscription = try EventSubscription(socketPath: socket, json: json)
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
