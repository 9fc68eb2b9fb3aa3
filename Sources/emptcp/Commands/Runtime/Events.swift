import ArgumentParser
import EmptcpApply

extension Emptcp {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Stream MPTCP events from the data plane's ring buffer, one line each, until interrupted.",
            discussion: """
                Reads <pin root>/maps/emptcp_events. Only one reader at a time gets each record: \
                do not run this while `emptcp daemon` consumes the same pin root. Records of an \
                unknown version or type are printed as UNKNOWN and counted.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "One JSON object per line.") var json = false
        @Option(name: .long, help: "Stop after this many events (default: until SIGINT/SIGTERM).") var count: Int?

        func run() throws {
            if let count, count < 1 { throw Kernel.usage("events", "--count must be at least 1") }
            do {
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
    }
}
