import ArgumentParser
import EmptcpApply

extension Emptcp {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Stream MPTCP events from the data plane's ring buffer, one line each, until interrupted.",
            discussion: """
                Reads <pin root>/maps/emptcp_events. Only one reader at a time gets each record: \
                do not run this while `emptcp daemon run` consumes the same pin root. Records of an \
                unknown version or type are printed as UNKNOWN and counted.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: ArgumentHelp("Stop after this many events (default: until SIGINT/SIGTERM).", valueName: "n"))
        var count: Int?

        func validate() throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
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
    }
}
