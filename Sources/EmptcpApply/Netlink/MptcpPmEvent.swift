import EmptcpStore

/// One event of the kernel's MPTCP path manager (generic netlink family `mptcp_pm`, multicast
/// group `mptcp_pm_events`; numbers from include/uapi/linux/mptcp_pm.h). Addresses are from this
/// host's side: `local` is ours, `remote` the peer's. ANNOUNCED carries only the announced
/// (remote) address, CLOSED only the token.
public struct MptcpPmEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case created, established, closed, announced, removed
        case subEstablished = "sub_established", subClosed = "sub_closed", subPriority = "sub_priority"
        case other

        init(command: UInt8) {
            switch command {
            case 1: self = .created
            case 2: self = .established
            case 3: self = .closed
            case 6: self = .announced
            case 7: self = .removed
            case 10: self = .subEstablished
            case 11: self = .subClosed
            case 13: self = .subPriority
            default: self = .other
            }
        }
    }

    public var kind: Kind
    public var token: UInt32
    public var local: IPAddress?
    public var localPort: UInt16?
    public var remote: IPAddress?
    public var remotePort: UInt16?
    public var localID: UInt8?
    public var remoteID: UInt8?
    public var backup: Bool?
    public var serverSide: Bool?
    public var error: UInt8?

    public init(kind: Kind, token: UInt32, local: IPAddress? = nil, localPort: UInt16? = nil, remote: IPAddress? = nil,
                remotePort: UInt16? = nil, localID: UInt8? = nil, remoteID: UInt8? = nil, backup: Bool? = nil,
                serverSide: Bool? = nil, error: UInt8? = nil) {
        self.kind = kind
        self.token = token
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.localID = localID
        self.remoteID = remoteID
        self.backup = backup
        self.serverSide = serverSide
        self.error = error
    }

    // enum mptcp_event_attr
    static let attrToken: UInt16 = 1, attrFamily: UInt16 = 2, attrLocID: UInt16 = 3, attrRemID: UInt16 = 4
    static let attrSaddr4: UInt16 = 5, attrSaddr6: UInt16 = 6, attrDaddr4: UInt16 = 7, attrDaddr6: UInt16 = 8
    static let attrSport: UInt16 = 9, attrDport: UInt16 = 10, attrBackup: UInt16 = 11, attrError: UInt16 = 12
    static let attrServerSide: UInt16 = 18

    /// Decodes one event message (generic command + attributes); nil without a token.
    init?(command: UInt8, attributes a: NetlinkAttributes) {
        guard let token = a.u32(Self.attrToken) else { return nil }
        self.init(kind: Kind(command: command), token: token)
        local = (a[Self.attrSaddr4] ?? a[Self.attrSaddr6]).flatMap { IPAddress(bytes: Array($0)) }
        remote = (a[Self.attrDaddr4] ?? a[Self.attrDaddr6]).flatMap { IPAddress(bytes: Array($0)) }
        localPort = a.be16(Self.attrSport)
        remotePort = a.be16(Self.attrDport)
        localID = a.u8(Self.attrLocID)
        remoteID = a.u8(Self.attrRemID)
        backup = a.u8(Self.attrBackup).map { $0 != 0 }
        serverSide = a.u8(Self.attrServerSide).map { $0 != 0 }
        error = a.u8(Self.attrError)
    }

    /// The subflow (or, for CREATED/ESTABLISHED, the initial subflow) as seen from this host.
    public var subflow: SubflowKey? {
        guard let local, let localPort, let remote, let remotePort else { return nil }
        return SubflowKey(local: local, localPort: localPort, remote: remote, remotePort: remotePort)
    }

    /// One line for logs and `emptcp events`.
    public var text: String {
        var s = "\(kind.rawValue.uppercased()) token=\(MptcpPmEvent.hex(token))"
        if let subflow { s += " \(subflow)" } else if let remote { s += " remote=\(EventFlow.endpoint(remote, remotePort ?? 0))" }
        if let localID { s += " loc_id=\(localID)" }
        if let remoteID { s += " rem_id=\(remoteID)" }
        if let backup { s += " backup=\(backup ? 1 : 0)" }
        if let error, error != 0 { s += " error=\(error)" }
        return s
    }

    static func hex(_ token: UInt32) -> String {
        let digits = String(token, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// A subflow from this host's side: our address and port, the peer's address and port.
public struct SubflowKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16

    public init(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) {
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
    }

    /// The flow as XDP sees the peer's packets: source = the peer.
    public init(ingress flow: EventFlow) {
        self.init(local: flow.destination, localPort: flow.destinationPort, remote: flow.source, remotePort: flow.sourcePort)
    }

    /// The peer-to-us direction, the one injected segments take.
    public var ingress: EventFlow { EventFlow(source: remote, sourcePort: remotePort, destination: local, destinationPort: localPort) }

    public var description: String { "\(EventFlow.endpoint(local, localPort))-\(EventFlow.endpoint(remote, remotePort))" }

    /// Parses the `description` form (also accepts the other separators of EventFlow).
    public init?(parsing text: String) {
        guard let f = EventFlow(parsing: text) else { return nil }
        self.init(local: f.source, localPort: f.sourcePort, remote: f.destination, remotePort: f.destinationPort)
    }
}
