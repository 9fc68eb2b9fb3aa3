import EmptcpStore

/// Commands of the kernel's MPTCP path manager over generic netlink (`mptcp_pm`). With the
/// userspace path manager (`net.mptcp.pm_type=1`, or `path_manager=userspace`) the kernel
/// neither joins announced addresses nor answers for subflow priorities by itself: the daemon
/// does it with SUBFLOW_CREATE and SET_FLAGS per subflow.
public final class MptcpPathManager {
    private let socket: GenericNetlinkSocket
    private let family: GenericFamily

    static let familyName = "mptcp_pm"
    static let eventsGroup = "mptcp_pm_events"
    static let version: UInt8 = 1

    // MPTCP_PM_CMD_*
    static let commandSetFlags: UInt8 = 7, commandAnnounce: UInt8 = 8, commandSubflowCreate: UInt8 = 10
    // MPTCP_PM_ATTR_*
    static let attrAddr: UInt16 = 1, attrToken: UInt16 = 4, attrLocID: UInt16 = 5, attrAddrRemote: UInt16 = 6
    // MPTCP_PM_ADDR_ATTR_*
    static let addrFamily: UInt16 = 1, addrID: UInt16 = 2, addrAddr4: UInt16 = 3, addrAddr6: UInt16 = 4
    static let addrPort: UInt16 = 5, addrFlags: UInt16 = 6
    static let flagSignal: UInt32 = 1, flagBackup: UInt32 = 4

    public init() throws {
        socket = try GenericNetlinkSocket()
        family = try socket.resolve(family: Self.familyName)
    }

    /// True when this network namespace runs the userspace path manager.
    public static func isUserspace() -> Bool {
        if let name = Sys.sysctl("net/mptcp/path_manager") { return name == "userspace" }
        return Sys.sysctl("net/mptcp/pm_type") == "1"
    }

    /// Sets or clears our backup request on one subflow (userspace PM: per subflow; it also
    /// sends MP_PRIO to the peer).
    public func setBackup(token: UInt32, subflow: SubflowKey, backup: Bool) throws {
        var a = NetlinkAttributeWriter()
        a.put(Self.attrToken, u32: token)
        a.nest(Self.attrAddr, Self.address(subflow.local, port: subflow.localPort, flags: backup ? Self.flagBackup : 0))
        a.nest(Self.attrAddrRemote, Self.address(subflow.remote, port: subflow.remotePort))
        try socket.request(family: family.id, command: Self.commandSetFlags, version: Self.version, attributes: a,
                           object: "SET_FLAGS token \(MptcpPmEvent.hex(token)) \(subflow)")
    }

    /// Sends ADD_ADDR for one of our addresses on the connection (userspace PM).
    public func announce(token: UInt32, id: UInt8, address: IPAddress) throws {
        var a = NetlinkAttributeWriter()
        a.put(Self.attrToken, u32: token)
        a.nest(Self.attrAddr, Self.address(address, id: id, flags: Self.flagSignal))
        try socket.request(family: family.id, command: Self.commandAnnounce, version: Self.version, attributes: a,
                           object: "ANNOUNCE token \(MptcpPmEvent.hex(token)) \(address)")
    }

    /// Opens a subflow from `local` to the announced `remote` address (userspace PM).
    public func createSubflow(token: UInt32, local: IPAddress, remote: IPAddress, remotePort: UInt16) throws {
        var a = NetlinkAttributeWriter()
        a.put(Self.attrToken, u32: token)
        a.nest(Self.attrAddr, Self.address(local))
        a.nest(Self.attrAddrRemote, Self.address(remote, port: remotePort))
        try socket.request(family: family.id, command: Self.commandSubflowCreate, version: Self.version, attributes: a,
                           object: "SUBFLOW_CREATE token \(MptcpPmEvent.hex(token)) \(local) > \(EventFlow.endpoint(remote, remotePort))")
    }

    static func address(_ address: IPAddress, port: UInt16? = nil, id: UInt8? = nil, flags: UInt32? = nil) -> NetlinkAttributeWriter {
        var n = NetlinkAttributeWriter()
        n.put(addrFamily, u16: address.isIPv4 ? 2 : 10)
        if let id { n.put(addrID, u8: id) }
        n.put(address.isIPv4 ? addrAddr4 : addrAddr6, address.bytes)
        if let port { n.put(addrPort, u16: port) }
        if let flags { n.put(addrFlags, u32: flags) }
        return n
    }
}

/// The path manager's event stream: a generic netlink socket joined to `mptcp_pm_events`.
public final class MptcpEventMonitor {
    private let socket: GenericNetlinkSocket

    public init() throws {
        // Events arrive in bursts (every subflow of every connection); a large buffer keeps the
        // kernel from dropping them while the daemon is busy. A drop is reported as an overrun.
        socket = try GenericNetlinkSocket(receiveBuffer: 4 << 20)
        let family = try socket.resolve(family: MptcpPathManager.familyName)
        guard let group = family.groups[MptcpPathManager.eventsGroup] else {
            throw NetlinkError(operation: "join", object: MptcpPathManager.eventsGroup, code: 2, message: "group not offered by \(family.name)")
        }
        try socket.join(group: group, MptcpPathManager.eventsGroup)
    }

    public var pollDescriptor: Int32 { socket.descriptor }

    /// Every event waiting now; `overrun` when the kernel had to drop some.
    public func read() throws -> (events: [MptcpPmEvent], overrun: Bool) {
        let (messages, overrun) = try socket.drain(MptcpPathManager.eventsGroup)
        return (messages.compactMap { MptcpPmEvent(command: $0.command, attributes: $0.attributes) }, overrun)
    }
}
