import ArgumentParser
import Foundation

/// Flags shared by every subcommand (design §4).
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "Policy database (env EMPTCP_DB).")
    var dbOption: String?

    @Option(name: .customLong("pin-root"), help: "bpffs directory for pinned maps and programs (env EMPTCP_PIN_ROOT).")
    var pinRootOption: String?

    var db: String {
        dbOption ?? ProcessInfo.processInfo.environment["EMPTCP_DB"] ?? "/var/lib/emptcp/emptcp.db"
    }

    var pinRoot: String {
        pinRootOption ?? ProcessInfo.processInfo.environment["EMPTCP_PIN_ROOT"] ?? "/sys/fs/bpf/emptcp"
    }
}
