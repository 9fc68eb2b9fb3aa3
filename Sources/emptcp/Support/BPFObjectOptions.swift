import ArgumentParser

/// Where the commands that load programs (attach, apply) find the built BPF objects.
struct BPFObjectOptions: ParsableArguments {
    @Option(name: .customLong("bpf-dir"), help: ArgumentHelp(
        "Directory of the built BPF objects (env EMPTCP_BPF_DIR; default: PREFIX/lib/emptcp/bpf next to PREFIX/bin/emptcp, then the build tree).",
        valueName: "dir"))
    var bpfDir: String?
}
