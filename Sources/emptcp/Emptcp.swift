import ArgumentParser

/// The root command is only configuration: each subcommand lives in its own file.
@main
struct Emptcp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emptcp",
        abstract: "Steer MPTCP connections with eBPF policy chains kept in a versioned store.",
        subcommands: [
            Commit.self, Confirm.self, Rollback.self, Log.self, Show.self, Diff.self, Audit.self,
            Attach.self, Detach.self, Apply.self, Status.self,
            Events.self, Stats.self, Module.self, Daemon.self,
        ]
    )
}
