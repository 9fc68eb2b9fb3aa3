import ArgumentParser
import EmptcpApply
import Foundation

extension Emptcp {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Per-flow packets, bytes and RTT from the `record` actor, summed over CPUs.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let flows = try StatsReader.read(pinRoot: global.pinRoot)
            if output.json { return Console.print(try Console.document(["flows": flows])) }
            let columns = ["PACKETS", "BYTES", "RTT_SAMPLES", "RTT_LAST_US", "RTT_MIN_US", "RTT_AVG_US"]
            Console.print((["FLOW".padding(toLength: 48, withPad: " ", startingAt: 0)] + columns).joined(separator: " "))
            for f in flows {
                let values = [String(f.packets), String(f.bytes), String(f.rttSamples), f.rttLastUs.map(String.init) ?? "-",
                              f.rttMinUs.map(String.init) ?? "-", f.rttAvgUs.map(String.init) ?? "-"]
                Console.print(([f.flow.description.padding(toLength: 48, withPad: " ", startingAt: 0)] + values).joined(separator: " "))
            }
        }
    }
}
