import ArgumentParser

extension Emptcp.Fleet {
    struct Unfollow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unfollow",
            abstract: "Stop following a fleet on this host: local commits are accepted again (stop `fleet follow` first).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try DataPlaneSession(global: global).openStore().stopFollowing()
            Console.print("no longer following a fleet")
        }
    }
}
