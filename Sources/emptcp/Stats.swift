import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Per-flow packets, bytes and RTT from the `record` actor, summed over CPUs.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "JSON array of flows.") var json = false

        func run() throws {
            let flows = try StatsReader.read(pinRoot: global.pinRoot)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(flows), as: UTF8.self))
                return
            }
            print("FLOW".padding(toLength: 48, withPad: " ", startingAt: 0), "PACKETS", "BYTES", "RTT_SAMPLES", "RTT_LAST_US", "RTT_MIN_US", "RTT_AVG_US")
            for f in flows {
                let dash = "-"
                print(f.flow.description.padding(toLength: 48, withPad: " ", startingAt: 0), f.packets, f.bytes, f.rttSamples,
                      f.rttLastUs.map(String.init) ?? dash, f.rttMinUs.map(String.init) ?? dash, f.rttAvgUs.map(String.init) ?? dash)
            }
        }
    }
}
