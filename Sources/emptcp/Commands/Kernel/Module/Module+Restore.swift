import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp.Module {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Reload every recorded module the kernel does not hold into its recorded slot (after a reboot or detach).",
            discussion: "The same step `apply --boot` takes after re-attaching.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let session = DataPlaneSession(global: global)
            let restored = try session.moduleManager().restore(catalog: try session.openStore())
            Console.print(restored.isEmpty ? "nothing to restore"
                          : restored.map { "module \($0.name): restored into slot \($0.slot)" }.joined(separator: "\n"))
        }
    }
}
