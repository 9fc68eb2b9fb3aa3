import CLibbpf
import EmptcpStore
import Logging

/// How the XDP program is attached: in the driver (native), in the generic skb path, or native
/// with a fall back to generic (auto).
public enum XDPMode: String, Codable, Sendable, CaseIterable {
    case native, generic, auto
}

/// One interface's attachment as it stands after `attach`.
public struct AttachResult: Codable, Sendable, Equatable {
    public var interface: String
    public var ifindex: UInt32
    /// "native" or "generic".
    public var xdpMode: String
    /// "tcx".
    public var tcMode: String
    /// True when both hooks were already attached (nothing done).
    public var alreadyAttached: Bool
}

/// Attaches and detaches the entry programs of one interface with bpf_links pinned under
/// `<root>/links/<iface>/{xdp,tc}`, so they outlive the process; detach is detach + unpin.
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

    func attach(_ iface: String, mode: XDPMode) throws -> AttachResult {
        guard let ifindex = Sys.interfaceIndex(iface) else { throw ApplyError.unknownInterface(iface) }
        let existingXDP = try liveLink(iface, .xdp, ifindex: ifindex)
        let existingTC = try liveLink(iface, .tc, ifindex: ifindex)
        if let xdp = existingXDP, existingTC != nil {
            return AttachResult(interface: iface, ifindex: ifindex, xdpMode: xdpMode(ifindex: ifindex, programID: xdp.programID),
                                tcMode: "tcx", alreadyAttached: true)
        }
        try Sys.makeDirectory(layout.links)
        try Sys.makeDirectory(layout.linkDirectory(iface))

        var createdXDP = false
        do {
            let xdp: LiveLink
            if let existingXDP {
                xdp = existingXDP
            } else {
                xdp = try attachXDP(iface, ifindex: ifindex, mode: mode)
                createdXDP = true
            }
            if existingTC == nil { try attachTC(iface, ifindex: ifindex) }
            let result = AttachResult(interface: iface, ifindex: ifindex, xdpMode: xdpMode(ifindex: ifindex, programID: xdp.programID),
                                      tcMode: "tcx", alreadyAttached: false)
            logger.info("attached", metadata: ["iface.name": "\(iface)", "xdp.mode": "\(result.xdpMode)", "tc.mode": "tcx"])
            return result
        } catch {
            // All or nothing: undo the XDP link created here.
            if createdXDP { try? detachHook(iface, .xdp) }
            if Sys.listDirectory(layout.linkDirectory(iface)).isEmpty { try? Sys.removeDirectory(layout.linkDirectory(iface)) }
            throw error
        }
    }

    private func attachXDP(_ iface: String, ifindex: UInt32, mode: XDPMode) throws -> LiveLink {
        let query = try Sys.xdpQuery(ifindex: ifindex, "interface \(iface)")
        if query.prog_id != 0 || query.drv_prog_id != 0 || query.skb_prog_id != 0 || query.hw_prog_id != 0 {
            throw ApplyError.foreignXDP(interface: iface, programID: [query.prog_id, query.drv_prog_id, query.skb_prog_id, query.hw_prog_id].first { $0 != 0 }!)
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
            } catch let error as KernelError {
                logger.info("native XDP unavailable, using generic", metadata: ["iface.name": "\(iface)", "error": "\(error.cause)"])
                link = try Sys.linkCreate(program: program, ifindex: ifindex, type: BPF_XDP, flags: UInt32(XDP_FLAGS_SKB_MODE), object: object + " (generic)")
            }
        }
        // Once pinned the link outlives this process; if pinning fails, closing the fd detaches it.
        try Sys.objectPin(link, layout.link(iface, .xdp))
        let info = try Sys.linkInfo(link, "link \(layout.link(iface, .xdp))")
        return LiveLink(fd: link, programID: info.programID)
    }

    private func attachTC(_ iface: String, ifindex: UInt32) throws {
        let program = try Sys.objectGet(layout.prog(.tc, Loader.entry))
        let link = try Sys.linkCreate(program: program, ifindex: ifindex, type: attachTypeTCXEgress, flags: 0, object: "tcx egress entry on \(iface)")
        try Sys.objectPin(link, layout.link(iface, .tc))
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
        try detachHook(iface, .xdp)
        try Sys.removeDirectory(dir)
        logger.info("detached", metadata: ["iface.name": "\(iface)"])
        return true
    }

    /// Interfaces with an emptcp link directory.
    func attachedInterfaces() -> [String] {
        Sys.listDirectory(layout.links).filter { Sys.isDirectory(layout.linkDirectory($0)) }
    }
}

/// Makes sure the pin root is a directory on a bpffs, mounting one when needed.
enum PinRoot {
    static func prepare(_ root: String) throws {
        if Sys.fileSystemType(root) == bpffsMagic { return }
        // The conventional /sys/fs/bpf is mounted first, so a pin root below it is created on it.
        if root.hasPrefix("/sys/fs/bpf/"), Sys.fileSystemType("/sys/fs/bpf") != bpffsMagic {
            do { try Sys.mountBPFFS(at: "/sys/fs/bpf") } catch let error as KernelError {
                throw ApplyError.bpffsUnavailable(path: "/sys/fs/bpf", cause: error.cause)
            }
        }
        var path = ""
        for component in root.split(separator: "/") {
            path += "/" + component
            if !Sys.isDirectory(path) {
                do { try Sys.makeDirectory(path) } catch let error as KernelError {
                    throw ApplyError.bpffsUnavailable(path: root, cause: "\(error.operation) \(error.object): \(error.cause)")
                }
            }
        }
        if Sys.fileSystemType(root) == bpffsMagic { return }
        do { try Sys.mountBPFFS(at: root) } catch let error as KernelError {
            throw ApplyError.bpffsUnavailable(path: root, cause: error.cause)
        }
    }

    static func isBPFFS(_ root: String) -> Bool { Sys.fileSystemType(root) == bpffsMagic }
}
