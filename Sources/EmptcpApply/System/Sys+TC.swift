import CLibbpf
import Glibc

/// The clsact fall back through libbpf's TC API (bpf_tc_hook_create, bpf_tc_attach,
/// bpf_tc_query, bpf_tc_detach, bpf_tc_hook_destroy): netlink inside libbpf, no `tc` process.
/// Filters are named by (handle, priority) on the egress side of the device's clsact qdisc.
extension Sys {
    private static func tcHook(_ ifindex: UInt32, _ point: UInt32) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = optsSize(\bpf_tc_hook.parent, UInt32.self)
        hook.ifindex = Int32(bitPattern: ifindex)
        hook.attach_point = bpf_tc_attach_point(rawValue: point)
        return hook
    }

    private static func tcOptions(handle: UInt32, priority: UInt32) -> bpf_tc_opts {
        var opts = bpf_tc_opts()
        opts.sz = optsSize(\bpf_tc_opts.priority, UInt32.self)
        opts.handle = handle
        opts.priority = priority
        return opts
    }

    /// Adds a clsact qdisc to the device; false when it has one already.
    static func tcHookCreate(ifindex: UInt32, _ object: String) throws -> Bool {
        var hook = tcHook(ifindex, BPF_TC_EGRESS.rawValue)
        let ret = bpf_tc_hook_create(&hook)
        if ret == 0 { return true }
        if code(ret) == EEXIST { return false }
        throw fail("bpf_tc_hook_create", object, code(ret))
    }

    /// Removes the device's clsact qdisc (and every filter on it: callers check first).
    static func tcHookDestroy(ifindex: UInt32, _ object: String) throws {
        var hook = tcHook(ifindex, BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
        let ret = bpf_tc_hook_destroy(&hook)
        guard ret == 0 || code(ret) == ENOENT || code(ret) == EINVAL else { throw fail("bpf_tc_hook_destroy", object, code(ret)) }
    }

    /// Attaches `program` as a direct-action cls_bpf filter on egress; fails when a filter with
    /// this handle and priority exists (no replace).
    static func tcAttach(ifindex: UInt32, program: Descriptor, handle: UInt32, priority: UInt32, _ object: String) throws {
        let hook = tcHook(ifindex, BPF_TC_EGRESS.rawValue)
        var opts = tcOptions(handle: handle, priority: priority)
        opts.prog_fd = program.raw
        let ret = withUnsafePointer(to: hook) { bpf_tc_attach($0, &opts) }
        guard ret == 0 else { throw fail("bpf_tc_attach", object, code(ret)) }
    }

    /// The program id of the egress filter (handle, priority), or nil when there is none.
    static func tcQuery(ifindex: UInt32, handle: UInt32, priority: UInt32) -> UInt32? {
        let hook = tcHook(ifindex, BPF_TC_EGRESS.rawValue)
        var opts = tcOptions(handle: handle, priority: priority)
        let ret = withUnsafePointer(to: hook) { bpf_tc_query($0, &opts) }
        return ret == 0 ? opts.prog_id : nil
    }

    /// Deletes the egress filter (handle, priority); an absent one is fine.
    static func tcDetach(ifindex: UInt32, handle: UInt32, priority: UInt32, _ object: String) throws {
        let hook = tcHook(ifindex, BPF_TC_EGRESS.rawValue)
        let opts = tcOptions(handle: handle, priority: priority)
        let ret = withUnsafePointer(to: hook) { h in withUnsafePointer(to: opts) { bpf_tc_detach(h, $0) } }
        guard ret == 0 || code(ret) == ENOENT else { throw fail("bpf_tc_detach", object, code(ret)) }
    }

    /// Whether the device's clsact qdisc holds any filter other than (handle, priority), on
    /// ingress or egress. libbpf has no listing call, so this is one RTM_GETTFILTER dump per side
    /// over rtnetlink; a filter shows as its classifier (handle 0) plus one message per handle.
    static func tcHasOtherFilters(ifindex: UInt32, handle: UInt32, priority: UInt32, _ object: String) throws -> Bool {
        for parent: UInt32 in [0xFFFF_FFF2 /* clsact ingress */, 0xFFFF_FFF3 /* clsact egress */] {
            for filter in try tcFilterDump(ifindex: ifindex, parent: parent, object) {
                let ours = parent == 0xFFFF_FFF3 && filter.priority == priority && (filter.handle == 0 || filter.handle == handle)
                if !ours { return true }
            }
        }
        return false
    }

    /// (priority, handle) of every filter message an RTM_GETTFILTER dump returns for `parent`.
    private static func tcFilterDump(ifindex: UInt32, parent: UInt32, _ object: String) throws -> [(priority: UInt32, handle: UInt32)] {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else { throw fail("socket(NETLINK_ROUTE)", object, errno) }
        defer { close(fd) }
        // struct nlmsghdr (16 bytes) + struct tcmsg (20 bytes), host byte order.
        var request = [UInt8](repeating: 0, count: 36)
        func put32(_ v: UInt32, at offset: Int) { withUnsafeBytes(of: v) { for i in 0..<4 { request[offset + i] = $0[i] } } }
        func put16(_ v: UInt16, at offset: Int) { withUnsafeBytes(of: v) { for i in 0..<2 { request[offset + i] = $0[i] } } }
        put32(36, at: 0)
        put16(46 /* RTM_GETTFILTER */, at: 4)
        put16(0x0001 | 0x0300 /* NLM_F_REQUEST | NLM_F_DUMP */, at: 6)
        put32(1, at: 8)
        put32(ifindex, at: 20)  // tcm_ifindex (after family and padding)
        put32(parent, at: 28)   // tcm_parent
        guard send(fd, request, request.count, 0) == request.count else { throw fail("send RTM_GETTFILTER", object, errno) }
        var found: [(priority: UInt32, handle: UInt32)] = []
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw fail("recv RTM_GETTFILTER", object, n < 0 ? errno : EIO) }
            var offset = 0
            while offset + 16 <= n {
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
                let type = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self) }
                guard length >= 16, offset + length <= n else { break }
                switch type {
                case 3: return found  // NLMSG_DONE
                case 2:  // NLMSG_ERROR: its errno follows the header (0 acknowledges)
                    let error = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self) }
                    if error == 0 { return found }
                    // No qdisc on that side: no filters there.
                    if -error == EINVAL || -error == ENOENT { return found }
                    throw fail("RTM_GETTFILTER", object, -error)
                case 44 where length >= 36:  // RTM_NEWTFILTER: tcmsg's handle and info (priority << 16 | protocol)
                    let filterHandle = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 24, as: UInt32.self) }
                    let info = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 32, as: UInt32.self) }
                    found.append((info >> 16, filterHandle))
                default: break
                }
                offset += (length + 3) & ~3
            }
        }
    }
}
