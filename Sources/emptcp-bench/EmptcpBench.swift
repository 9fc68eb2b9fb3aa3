import ArgumentParser

/// Benchmarks (never tests): every figure is reported as a ratio to a baseline measured in the same run.
@main
struct EmptcpBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emptcp-bench",
        abstract: "Measure emptcp: store and applier scale, per-packet cost.",
        subcommands: [StoreBench.self, PacketBench.self, SwitchBench.self]
    )
}
