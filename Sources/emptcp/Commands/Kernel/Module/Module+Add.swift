import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp.Module {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Verify FILE.o and plug its program into a free slot >= 16 without detaching anything.",
            discussion: """
                The object is loaded with the shared map pin directory (<pin root>/maps), so maps it \
                declares with LIBBPF_PIN_BY_NAME are emptcp's. A copy is kept next to the database \
                for `apply --boot`. A verifier rejection saves the log next to the database.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The BPF object (one XDP program for --hook xdp, one SEC(\"tc\") program for --hook tc).", valueName: "file"))
        var file: String
        @Option(help: ArgumentHelp("xdp or tc.", valueName: "hook")) var hook: Hook
        @Option(help: ArgumentHelp("The module's name, as policies name it.", valueName: "name")) var name: String
        @Option(help: ArgumentHelp("selector or actor.", valueName: "kind")) var kind: ModuleKind = .actor

        func run() throws {
            let session = DataPlaneSession(global: global)
            let store = try session.openStore()
            let record = try session.moduleManager().add(objectPath: file, hook: hook, name: name, kind: kind, catalog: store)
            Console.print("module \(record.name): \(record.kind.rawValue) on \(record.hook.rawValue), slot \(record.slot)")
        }
    }
}
