import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Load and pin the programs, attach XDP ingress and tcx egress to interfaces, apply the current revision.",
            discussion: """
                Attaching an interface twice is a no-op. Each interface is all-or-nothing: when the \
                TC side fails, its XDP link is removed again. A foreign XDP program on an interface \
                is an error, never replaced. Attachments are recorded in the store for `apply --boot`.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var kernel: KernelOptions
        @Flag(name: .long, help: "Every interface of this network namespace except lo.") var all = false
        @Option(name: .customLong("xdp-mode"), help: "native, generic or auto (native, else generic).") var xdpMode: XDPMode = .auto
        @Option(name: .customLong("tc-mode"), help: "tcx, clsact (a cls_bpf filter of our own) or auto (tcx, else clsact).") var tcMode: TCMode = .auto
        @Flag(name: .long, help: "Attach and apply even though the pin root belongs to another store (it becomes this store's).") var force = false
        @Argument(help: "Interfaces to attach.") var interfaces: [String] = []

        func run() throws {
            // Usage errors exit 2 (design §4).
            if all == !interfaces.isEmpty { throw Kernel.usage("attach", "name interfaces or pass --all (not both)") }
            let logger = Kernel.logger()
            let applier = Kernel.applier(global, bpfDir: kernel.bpfDir, logger: logger)
            let store: PolicyStore
            do {
                store = try Kernel.store(global, logger: logger)
                try StoreOwnership.require(store, global, action: "attach", force: force)
            } catch { throw Kernel.fail("attach", error) }
            let targets = all ? Applier.allInterfaces() : interfaces
            for iface in targets {
                do {
                    let result = try applier.attach(interface: iface, xdpMode: xdpMode, tcMode: tcMode)
                    if result.alreadyAttached {
                        Kernel.print("\(iface): already attached (xdp \(result.xdpMode), tc \(result.tcMode))")
                        continue
                    }
                    try store.recordAttachment(Attachment(iface: iface, hook: .xdp, mode: result.xdpMode, pinRoot: global.pinRoot))
                    try store.recordAttachment(Attachment(iface: iface, hook: .tc, mode: result.tcMode, pinRoot: global.pinRoot))
                    try store.recordAudit(action: "attach", revision: nil, outcome: .ok, detail: "\(iface) xdp=\(result.xdpMode) tc=\(result.tcMode)")
                    Kernel.print("\(iface): attached (xdp \(result.xdpMode), tc \(result.tcMode))")
                } catch {
                    try? store.recordAudit(action: "attach", revision: nil, outcome: .failed, detail: "\(iface): \(error)")
                    throw Kernel.fail("attach", error)
                }
            }
            do {
                if let (revision, report) = try Kernel.applyCurrent(applier, store, global, force: force) {
                    Kernel.print("applied revision \(revision.id): \(report.summary)")
                }
            } catch {
                throw Kernel.fail("attach", error)
            }
        }
    }
}

extension XDPMode: ExpressibleByArgument {}
extension TCMode: ExpressibleByArgument {}
