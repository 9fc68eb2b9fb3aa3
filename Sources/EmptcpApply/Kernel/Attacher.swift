import CLibbpf
import EmptcpStore
import Logging

/// How the XDP program is attached: in the driver (native), in the generic skb path, or native
/// with a fall back to generic (auto).
public enum XDPMode: String, Codable, Sendable, CaseIterable {
    case native, generic, auto
}

/// How the TC egress program is attached: a tcx bpf_link (Linux 6.6+), a cls_bpf filter of our
/// own on a clsact qdisc (older kernels), or tcx with a fall back to clsact (auto).
public enum TCMode: String, Codable, Sendable, CaseIterable {
    case auto, tcx, clsact
}

/// One interface's attachment as it stands after `attach`.
public struct AttachResult: Codable, Sendable, Equatable {
    public var interface: String
    public var ifindex: UInt32
    /// "native" or "generic".
    public var xdpMode: String
    /// "tcx" or "clsact".
    public var tcMode: String
    /// True when both hooks were already attached (nothing done).
    public var alreadyAttached: Bool
    /// Why `auto` chose the XDP mode it did, when not by trying native first ("veth is a virtual device").
    public var xdpNote: String? = nil

    enum CodingKeys: String, CodingKey {
        case interface, ifindex, xdpMode = "xdp_mode", tcMode = "tc_mode", alreadyAttached = "already_attached", xdpNote = "xdp_note"
    }
}

/// BPF_LINK_TYPE_XDP (enum bpf_link_type).
private let xdpLinkType: UInt32 = 6

/// Attaches and detaches the entry programs of one interface with bpf_links pinned under
/// `<root>/links/<iface>/{xdp,tc}`, so they outlive the process; detach is detach + unpin.
/// emptcp's own links orphaned by an earlier load are recognised and replaced, never taken for
/// a foreign program.
struct Attacher {
    let layout: PinLayout
    let logger: Logger

    /// An emptcp link of an interface that is still attached to it.
    struct LiveLink {
        let fd: Descriptor
        let programID: UInt32
    }

    /// The pinned link of a hook when it is still attached to `ifindex`; stale pins (device gone
    /// or renamed) are removed.
    func liveLink(_ iface: String, _ hook: Hook, ifindex: UInt32?) throws -> LiveLink? {
        let path = layout.link(iface, hook)
        guard Sys.exists(path) else { return nil }
        let fd = try Sys.objectGet(path)
        let info = try Sys.linkInfo(fd, "link \(path)")
        if let ifindex, info.ifindex == ifindex { return LiveLink(fd: fd, programID: info.programID) }
        logger.info("removing stale link pin", metadata: ["iface.name": "\(iface)", "bpf.hook": "\(hook.rawValue)"])
        try? Sys.linkDetach(fd, "link \(path)")
        try Sys.unlinkFile(path)
        return nil
    }

    /// The XDP mode the kernel reports for our program on `ifindex`.
    func xdpMode(ifindex: UInt32, programID: UInt32) -> String {
        guard let query = try? Sys.xdpQuery(ifindex: ifindex, "interface \(ifindex)") else { return "unknown" }
        if query.drv_prog_id == programID { return "native" }
        if query.skb_prog_id == programID { return "generic" }
        if query.hw_prog_id == programID { return "offload" }
        return "unknown"
    }

    /// The TC attachment of an interface that is still in place ("tcx" or "clsact").
    func liveTC(_ iface: String, ifindex: UInt32?) throws -> String? {
        if try liveLink(iface, .tc, ifindex: ifindex) != nil { return "tcx" }
        if Sys.isDirectory(clsactMarker(iface)) {
            if ifindex != nil, Clsact.hasFilter(iface) { return "clsact" }
            try? Sys.removeDirectory(clsactMarker(iface) + "/qdisc")
            try? Sys.removeDirectory(clsactMarker(iface))
        }
        return nil
    }

    /// Directory marking an XDP link attached in generic mode.
    func genericMarker(_ iface: String) -> String { layout.linkDirectory(iface) + "/xdp-generic" }

    /// Directory marking a clsact attachment; a `qdisc` directory inside it marks a qdisc we created.
    func clsactMarker(_ iface: String) -> String { layout.linkDirectory(iface) + "/tc-clsact" }

    func attach(_ iface: String, mode: XDPMode, tcMode: TCMode = .auto) throws -> AttachResult {
        guard let ifindex = Sys.interfaceIndex(iface) else { throw ApplyError.unknownInterface(iface) }
        let existingXDP = try liveLink(iface, .xdp, ifindex: ifindex)
        let existingTC = try liveTC(iface, ifindex: ifindex)
        if let xdp = existingXDP, let existingTC {
            return AttachResult(interface: iface, ifindex: ifindex, xdpMode: xdpMode(ifindex: ifindex, programID: xdp.programID),
                                tcMode: existingTC, alreadyAttached: true)
        }
        try Sys.makeDirectory(layout.links)
        try Sys.makeDirectory(layout.linkDirectory(iface))

        var createdXDP = false
        // auto on a software device (veth, bridge, ...): generic, never native (DeviceClass).
        let virtual = mode == .auto ? DeviceClass.virtualDevice(iface) : nil
        do {
            let xdp: LiveLink
            if let existingXDP {
                xdp = existingXDP
            } else {
                xdp = try attachXDP(iface, ifindex: ifindex, mode: virtual == nil ? mode : .generic)
                createdXDP = true
            }
            let tc = try existingTC ?? attachTC(iface, ifindex: ifindex, mode: tcMode)
            var result = AttachResult(interface: iface, ifindex: ifindex, xdpMode: xdpMode(ifindex: ifindex, programID: xdp.programID),
                                      tcMode: tc, alreadyAttached: false)
            if createdXDP, let virtual { result.xdpNote = "\(iface) is a virtual device (\(virtual))" }
            logger.info("attached", metadata: ["iface.name": "\(iface)", "xdp.mode": "\(result.xdpMode)", "tc.mode": "\(tc)"])
            return result
        } catch {
            // All or nothing: undo the XDP link created here.
            if createdXDP { try? detachHook(iface, .xdp); try? Sys.removeDirectory(genericMarker(iface)) }
            if Sys.listDirectory(layout.linkDirectory(iface)).isEmpty { try? Sys.removeDirectory(layout.linkDirectory(iface)) }
            throw error
        }
    }

    private func attachXDP(_ iface: String, ifindex: UInt32, mode: XDPMode) throws -> LiveLink {
        let query = try Sys.xdpQuery(ifindex: ifindex, "interface \(iface)")
        if let present = [query.prog_id, query.drv_prog_id, query.skb_prog_id, query.hw_prog_id].first(where: { $0 != 0 }) {
            // Our own entry left by an earlier load whose link pin is gone: replace it.
            guard Self.isEntry(programID: present, hook: .xdp), detachOrphans(iface, ifindex: ifindex, hook: .xdp) > 0 else {
                throw ApplyError.foreignXDP(interface: iface, programID: present)
            }
        }
        let program = try Sys.objectGet(layout.prog(.xdp, Loader.entry))
        let object = "XDP entry on \(iface)"
        let link: Descriptor
        switch mode {
        case .native:
            link = try Sys.linkCreate(program: program, ifindex: ifindex, type: BPF_XDP, flags: UInt32(XDP_FLAGS_DRV_MODE), object: object + " (native)")
        case .generic:
            link = try Sys.linkCreate(program: program, ifindex: ifindex, type: BPF_XDP, flags: UInt32(XDP_FLAGS_SKB_MODE), object: object + " (generic)")
        case .auto:
            do {
                link = try Sys.linkCreate(program: program, ifindex: ifindex, type: BPF_XDP, flags: UInt32(XDP_FLAGS_DRV_MODE), object: object + " (native)")
            } catch let error as SystemError {
                logger.info("native XDP unavailable, using generic", metadata: ["iface.name": "\(iface)", "error": "\(error.cause)"])
                link = try Sys.linkCreate(program: program, ifindex: ifindex, type: BPF_XDP, flags: UInt32(XDP_FLAGS_SKB_MODE), object: object + " (generic)")
            }
        }
        // Once pinned the link outlives this process; if pinning fails, closing the fd detaches it.
        try Sys.objectPin(link, layout.link(iface, .xdp))
        let info = try Sys.linkInfo(link, "link \(layout.link(iface, .xdp))")
        // Remember the mode, so `apply` re-attaches a lost link the same way.
        if xdpMode(ifindex: ifindex, programID: info.programID) == "generic" { try? Sys.makeDirectory(genericMarker(iface)) }
        else { try? Sys.removeDirectory(genericMarker(iface)) }
        return LiveLink(fd: link, programID: info.programID)
    }

    /// Attaches the TC entry program; returns the mode used.
    private func attachTC(_ iface: String, ifindex: UInt32, mode: TCMode) throws -> String {
        if mode != .clsact {
            // tcx runs several programs in a row: an orphaned entry of ours would run twice.
            detachOrphans(iface, ifindex: ifindex, hook: .tc)
            let program = try Sys.objectGet(layout.prog(.tc, Loader.entry))
            do {
                let link = try Sys.linkCreate(program: program, ifindex: ifindex, type: attachTypeTCXEgress, flags: 0, object: "tcx egress entry on \(iface)")
                try Sys.objectPin(link, layout.link(iface, .tc))
                return "tcx"
            } catch let error as SystemError where mode == .auto && error.operation == "bpf_link_create" && error.code == Sys.errnoEINVAL {
                // Kernels before 6.6 do not know BPF_TCX_EGRESS.
                logger.info("tcx unavailable, using a clsact filter", metadata: ["iface.name": "\(iface)", "error": "\(error.cause)"])
            }
        }
        let createdQdisc = try Clsact.attach(iface, program: layout.prog(.tc, Loader.entry))
        do {
            try Sys.makeDirectory(clsactMarker(iface))
            if createdQdisc { try Sys.makeDirectory(clsactMarker(iface) + "/qdisc") }
        } catch {
            Clsact.detach(iface, removeQdisc: createdQdisc)
            throw error
        }
        return "clsact"
    }

    // MARK: - Orphaned links

    /// True when program `id` is emptcp's entry program of `hook`: its name (`emptcp_x_entry`,
    /// `emptcp_t_entry`) and its use of the hook's selector program array, a map only emptcp's
    /// objects declare. The program may come from an earlier load of another pin root or build,
    /// including one from before the `emptcp_` prefix (LegacyNames).
    static func isEntry(programID id: UInt32, hook: Hook) -> Bool {
        guard let program = Sys.programNameAndMaps(id: id) else { return false }
        return (program.name == hook.kernelName(Loader.entry) && program.maps.contains(MapNames.selectors(hook)))
            || (program.name == LegacyNames.entry(hook) && program.maps.contains(LegacyNames.selectors(hook)))
    }

    /// Detaches every BPF link of `hook` on `ifindex` that runs emptcp's entry program and is not
    /// pinned here: what an earlier load leaves behind when its pins vanished but a reference kept
    /// the link alive (a bpffs still mounted in another mount namespace, a pin made elsewhere).
    /// The caller has already found no live link pinned under this pin root. Returns the count.
    @discardableResult
    func detachOrphans(_ iface: String, ifindex: UInt32, hook: Hook) -> Int {
        let linkType: UInt32 = hook == .xdp ? xdpLinkType : linkTypeTCX
        // Links are listed system-wide with a bare ifindex, which devices of other network
        // namespaces share: only a link whose program this very device runs is a candidate.
        let running: Set<UInt32>
        if hook == .xdp {
            guard let q = try? Sys.xdpQuery(ifindex: ifindex, "interface \(iface)") else { return 0 }
            running = Set([q.prog_id, q.drv_prog_id, q.skb_prog_id, q.hw_prog_id].filter { $0 != 0 })
        } else {
            running = Sys.tcxEgressProgramIDs(ifindex: ifindex)
        }
        var detached = 0
        for id in Sys.linkIDs() {
            guard let link = Sys.link(id: id), let info = try? Sys.linkInfo(link, "link \(id)"),
                  info.type == linkType, info.ifindex == ifindex, running.contains(info.programID),
                  Self.isEntry(programID: info.programID, hook: hook)
            else { continue }
            guard (try? Sys.linkDetach(link, "orphaned \(hook.rawValue) link \(id) on \(iface)")) != nil else { continue }
            logger.notice("replaced an orphaned emptcp link", metadata: [
                "iface.name": "\(iface)", "bpf.hook": "\(hook.rawValue)", "bpf.link": "\(id)", "bpf.program": "\(info.programID)",
            ])
            detached += 1
        }
        return detached
    }

    /// Detaches and unpins one hook's link of an interface; absent pins are fine.
    func detachHook(_ iface: String, _ hook: Hook) throws {
        let path = layout.link(iface, hook)
        guard Sys.exists(path) else { return }
        let fd = try Sys.objectGet(path)
        try Sys.linkDetach(fd, "link \(path)")
        try Sys.unlinkFile(path)
    }

    /// Detaches both hooks of an interface; returns whether anything was attached.
    func detach(_ iface: String) throws -> Bool {
        let dir = layout.linkDirectory(iface)
        guard Sys.isDirectory(dir) else { return false }
        try detachHook(iface, .tc)
        if Sys.isDirectory(clsactMarker(iface)) {
            Clsact.detach(iface, removeQdisc: Sys.isDirectory(clsactMarker(iface) + "/qdisc"))
            try? Sys.removeDirectory(clsactMarker(iface) + "/qdisc")
            try Sys.removeDirectory(clsactMarker(iface))
        }
        try detachHook(iface, .xdp)
        try? Sys.removeDirectory(genericMarker(iface))
        try Sys.removeDirectory(dir)
        logger.info("detached", metadata: ["iface.name": "\(iface)"])
        return true
    }

    /// Interfaces with an emptcp link directory.
    func attachedInterfaces() -> [String] {
        Sys.listDirectory(layout.links).filter { Sys.isDirectory(layout.linkDirectory($0)) }
    }
}

/// The clsact fall back for kernels without tcx, through libbpf's TC API (System/Sys+TC.swift,
/// no `tc` process): one direct-action cls_bpf filter of ours at a fixed priority and handle on
/// the egress side of a clsact qdisc. The qdisc is created only when missing, and removed on
/// detach only when we created it and no other filter remains on either side.
enum Clsact {
    static let priority: UInt32 = 49152
    static let handle: UInt32 = 0xe1

    /// Returns whether the qdisc was created here.
    static func attach(_ iface: String, program: String) throws -> Bool {
        guard let ifindex = Sys.interfaceIndex(iface) else { throw ApplyError.unknownInterface(iface) }
        let created = try Sys.tcHookCreate(ifindex: ifindex, "clsact qdisc on \(iface)")
        do {
            let fd = try Sys.objectGet(program)
            try Sys.tcAttach(ifindex: ifindex, program: fd, handle: handle, priority: priority, "egress filter on \(iface)")
        } catch {
            if created { try? Sys.tcHookDestroy(ifindex: ifindex, "clsact qdisc on \(iface)") }
            throw error
        }
        return created
    }

    static func hasFilter(_ iface: String) -> Bool {
        guard let ifindex = Sys.interfaceIndex(iface) else { return false }
        return Sys.tcQuery(ifindex: ifindex, handle: handle, priority: priority) != nil
    }

    static func detach(_ iface: String, removeQdisc: Bool) {
        guard let ifindex = Sys.interfaceIndex(iface) else { return }
        try? Sys.tcDetach(ifindex: ifindex, handle: handle, priority: priority, "egress filter on \(iface)")
        // Another filter on the qdisc (someone else's) keeps it; so does a failed look.
        guard removeQdisc, (try? Sys.tcHasOtherFilters(ifindex: ifindex, handle: handle, priority: priority, "clsact qdisc on \(iface)")) == false
        else { return }
        try? Sys.tcHookDestroy(ifindex: ifindex, "clsact qdisc on \(iface)")
    }
}

/// Makes sure the pin root is a directory on a bpffs, mounting one when needed.
enum PinRoot {
    /// What `prepare` did, so that a failed attach can take it back: bpffs mounts it made and
    /// directories it created, in order.
    struct Preparation {
        var mounted: [String] = []
        var created: [String] = []
        let kernelEntries: Set<String> = ["maps.debug", "progs.debug"]

        /// Unmounts and removes what `prepare` made, newest first. Only what is empty goes: a
        /// mount or directory that something else has filled since stays.
        func undo() {
            var steps: [(mount: Bool, path: String)] = created.map { (false, $0) }
            for m in mounted {
                // A mount comes after the directory it covers was created.
                let at = steps.firstIndex { !$0.mount && $0.path == m }.map { $0 + 1 } ?? 0
                steps.insert((true, m), at: at)
            }
            for step in steps.reversed() {
                // A new bpffs shows the kernel's own iterators (maps.debug, progs.debug): not ours, not content.
                guard Sys.listDirectory(step.path).allSatisfy({ step.mount && kernelEntries.contains($0) }) else { return }
                if step.mount { try? Sys.unmount(step.path) } else { try? Sys.removeDirectory(step.path) }
            }
        }
    }

    @discardableResult
    static func prepare(_ root: String) throws -> Preparation {
        var done = Preparation()
        if Sys.fileSystemType(root) == bpffsMagic { return done }
        // The conventional /sys/fs/bpf is mounted first, so a pin root below it is created on it.
        if root.hasPrefix("/sys/fs/bpf/"), Sys.fileSystemType("/sys/fs/bpf") != bpffsMagic {
            do { try Sys.mountBPFFS(at: "/sys/fs/bpf") } catch let error as SystemError {
                throw ApplyError.bpffsUnavailable(path: "/sys/fs/bpf", cause: error.cause)
            }
            done.mounted.append("/sys/fs/bpf")
        }
        var path = ""
        for component in root.split(separator: "/") {
            path += "/" + component
            if !Sys.isDirectory(path) {
                do { try Sys.makeDirectory(path) } catch let error as SystemError {
                    done.undo()
                    throw ApplyError.bpffsUnavailable(path: root, cause: "\(error.operation) \(error.object): \(error.cause)")
                }
                done.created.append(path)
            }
        }
        if Sys.fileSystemType(root) == bpffsMagic { return done }
        do { try Sys.mountBPFFS(at: root) } catch let error as SystemError {
            done.undo()
            throw ApplyError.bpffsUnavailable(path: root, cause: error.cause)
        }
        done.mounted.append(root)
        return done
    }

    static func isBPFFS(_ root: String) -> Bool { Sys.fileSystemType(root) == bpffsMagic }
}
