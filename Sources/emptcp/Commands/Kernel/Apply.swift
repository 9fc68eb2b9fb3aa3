import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Replay the current revision into the kernel maps, writing only what differs.",
            discussion: """
                A second apply writes nothing. Every apply is audited with the revision and, per map, \
                the entries added, removed and changed. --boot first re-attaches the interfaces \
                recorded in the store whose links are gone (after a reboot), then applies.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var objects: BPFObjectOptions
        @OptionGroup var output: OutputOptions
        @Flag(name: .long, help: "Re-attach recorded interfaces whose links are gone, then apply.") var boot = false

        func run() throws {
            let session = DataPlaneSession(global: global)
            let applier = session.applier(bpfDir: objects.bpfDir)
            let store = try session.openStore()
            if boot { try restore(applier, store) }
            guard let (revision, report) = try session.applyCurrent(applier, store) else {
                Console.print("no revision committed; nothing to apply")
                return
            }
            Console.print(output.json ? try Console.json(report) : "applied revision \(revision.id): \(report.summary)")
        }

        /// Attaches every recorded interface of this pin root again (a no-op where still attached).
        private func restore(_ applier: Applier, _ store: PolicyStore) throws {
            let recorded = try store.attachments().filter { $0.pinRoot == global.pinRoot }
            for iface in Set(recorded.map(\.iface)).sorted() {
                let xdp = recorded.first { $0.iface == iface && $0.hook == .xdp }
                let mode = xdp.flatMap { XDPMode(rawValue: $0.mode) } ?? .auto
                do {
                    let result = try applier.attach(interface: iface, xdpMode: mode)
                    if !result.alreadyAttached {
                        try store.recordAudit(action: "attach", revision: nil, outcome: .ok, detail: "\(iface) xdp=\(result.xdpMode) tc=\(result.tcMode) (boot)")
                        Console.print("\(iface): re-attached (xdp \(result.xdpMode), tc \(result.tcMode))")
                    }
                } catch {
                    try? store.recordAudit(action: "attach", revision: nil, outcome: .failed, detail: "\(iface) (boot): \(error)")
                    throw error
                }
            }
        }
    }
}
