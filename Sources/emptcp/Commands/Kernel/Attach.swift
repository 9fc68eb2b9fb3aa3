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
        @OptionGroup var objects: BPFObjectOptions
        @Flag(name: .long, help: "Every interface of this network namespace except lo and virtual devices (veth, bridges, tun, ...).") var all = false
        @Flag(name: .customLong("include-virtual"), help: "With --all: attach virtual devices too (never lo).") var includeVirtual = false
        @Option(name: .customLong("xdp-mode"), help: ArgumentHelp("native, generic or auto (generic on virtual devices such as veth; elsewhere native, else generic).", valueName: "mode")) var xdpMode: XDPMode = .auto
        @Option(name: .customLong("tc-mode"), help: ArgumentHelp("tcx, clsact (a cls_bpf filter of our own) or auto (tcx, else clsact).", valueName: "mode")) var tcMode: TCMode = .auto
        @Flag(name: .long, help: "Attach and apply even though the pin root belongs to another store (it becomes this store's).")
        var force = false
        @Argument(help: ArgumentHelp("Interfaces to attach.", valueName: "interface")) var interfaces: [String] = []

        func validate() throws {
            if all == !interfaces.isEmpty { throw ValidationError("name interfaces or pass --all (not both)") }
            if includeVirtual && !all { throw ValidationError("--include-virtual goes with --all") }
        }

        func run() throws {
            let session = DataPlaneSession(global: global)
            let applier = session.applier(bpfDir: objects.bpfDir)
            let store = try session.openStore()
            try StoreOwnership.require(store, session, action: "attach", force: force)
            var targets = interfaces
            if all {
                let found = Applier.allInterfaces(includeVirtual: includeVirtual)
                for (name, reason) in found.skipped { Console.print("\(name): skipped, \(reason) (--include-virtual attaches it)") }
                targets = found.targets
                guard !targets.isEmpty else {
                    throw NothingToAttach()
                }
            }
            for iface in targets {
                do {
                    let result = try applier.attach(interface: iface, xdpMode: xdpMode, tcMode: tcMode)
                    if result.alreadyAttached {
                        Console.print("\(iface): already attached (xdp \(result.xdpMode), tc \(result.tcMode))")
                        continue
                    }
                    try store.recordAttachment(Attachment(iface: iface, hook: .xdp, mode: result.xdpMode, pinRoot: global.pinRoot))
                    try store.recordAttachment(Attachment(iface: iface, hook: .tc, mode: result.tcMode, pinRoot: global.pinRoot))
                    try store.recordAudit(action: "attach", revision: nil, outcome: .ok, detail: "\(iface) xdp=\(result.xdpMode) tc=\(result.tcMode)")
                    let why = result.xdpNote.map { ": \($0)" } ?? ""
                    Console.print("\(iface): attached (xdp \(result.xdpMode)\(why), tc \(result.tcMode))")
                } catch {
                    try? store.recordAudit(action: "attach", revision: nil, outcome: .failed, detail: "\(iface): \(error)")
                    throw error
                }
            }
            if let (revision, report) = try session.applyCurrent(applier, store, force: force) {
                Console.print("applied revision \(revision.id): \(report.summary)")
            }
        }
    }
}

extension XDPMode: ExpressibleByArgument {}
extension TCMode: ExpressibleByArgument {}

/// `attach --all` that finds only skipped interfaces: a failure, so a script notices.
private struct NothingToAttach: Error, CustomStringConvertible {
    var description: String { "no interface to attach: every one was skipped (pass --include-virtual, or name them)" }
}
