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
            let flows: [FlowStats]
            do { flows = try StatsReader.read(pinRoot: global.pinRoot) } catch { throw Kernel.fail("stats", error) }
            if json {
                Kernel.print(try Kernel.json(flows))
                return
            }
            let columns = ["PACKETS", "BYTES", "RTT_SAMPLES", "RTT_LAST_US", "RTT_MIN_US", "RTT_AVG_US"]
            Kernel.print((["FLOW".padding(toLength: 48, withPad: " ", startingAt: 0)] + columns).joined(separator: " "))
            for f in flows {
                let values = [String(f.packets), String(f.bytes), String(f.rttSamples), f.rttLastUs.map(String.init) ?? "-",
                              f.rttMinUs.map(String.init) ?? "-", f.rttAvgUs.map(String.init) ?? "-"]
                Kernel.print(([f.flow.description.padding(toLength: 48, withPad: " ", startingAt: 0)] + values).joined(separator: " "))
            }
        }
    }
}
