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
        @OptionGroup var kernel: KernelOptions
        @Flag(name: .long, help: "Re-attach recorded interfaces whose links are gone, then apply.") var boot = false
        @Flag(name: .long, help: "Print the report as JSON.") var json = false

        func run() throws {
            let logger = Kernel.logger()
            let applier = Kernel.applier(global, bpfDir: kernel.bpfDir, logger: logger)
            do {
                let store = try Kernel.store(global, logger: logger)
                if boot { try restore(applier, store) }
                guard let (revision, report) = try Kernel.applyCurrent(applier, store, global) else {
                    Kernel.print("no revision committed; nothing to apply")
                    return
                }
                if json {
                    Kernel.print(try Kernel.json(report))
                } else {
                    Kernel.print("applied revision \(revision.id): \(report.summary)")
                }
            } catch {
                throw Kernel.fail("apply", error)
            }
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
                        Kernel.print("\(iface): re-attached (xdp \(result.xdpMode), tc \(result.tcMode))")
                    }
                } catch {
                    try? store.recordAudit(action: "attach", revision: nil, outcome: .failed, detail: "\(iface) (boot): \(error)")
                    throw error
                }
            }
        }
    }
}
