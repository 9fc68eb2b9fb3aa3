import ArgumentParser

extension Emptcp {
    /// One revision source for many hosts, on PostgreSQL (docs/fleet.md). Writers commit fleet
    /// revisions; each host runs `fleet follow`, which commits them into its own store and applies them.
    struct Fleet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fleet",
            abstract: "Fleet revisions on PostgreSQL: commit, roll back, watch hosts follow.",
            discussion: """
                The fleet database is named by --fleet URL, --fleet-file PATH (a root-owned file of \
                mode 0600 holding the URL) or EMPTCP_FLEET. URLs: postgresql://USER:PASS@HOST:PORT/DB \
                (sslmode=require for TLS) or postgresql:///DB?host=/socket/dir&user=USER.
                """,
            subcommands: [Init.self, Commit.self, Rollback.self, Log.self, Diff.self, Status.self, Wait.self, Follow.self, Unfollow.self])
    }
}

/// Where the fleet database is.
struct FleetOptions: ParsableArguments {
    @Option(name: .customLong("fleet"), help: ArgumentHelp("Fleet database URL (env EMPTCP_FLEET).", valueName: "url"))
    var url: String?

    @Option(name: .customLong("fleet-file"), help: ArgumentHelp("A root-only file (mode 0600) holding the fleet URL.", valueName: "path"))
    var file: String?
}
