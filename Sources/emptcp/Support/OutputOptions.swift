import ArgumentParser

/// `--json`, the same flag on every command that prints something a script may read.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text (streams: one object per line).") var json = false
}
