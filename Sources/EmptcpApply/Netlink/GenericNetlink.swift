/// A generic netlink socket: requests with acknowledgments, family resolution through the
/// control family, and multicast subscription. Requests are synchronous (one outstanding at a
/// time, matched by sequence number); a socket joined to a group is used for events only, so
/// event datagrams never interleave with replies.
final class GenericNetlinkSocket {
    private let fd: Descriptor
    private var sequence: UInt32 = 1
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    private static let controlFamily: UInt16 = 16  // GENL_ID_CTRL
    private static let controlGetFamily: UInt8 = 3  // CTRL_CMD_GETFAMILY
    private static let controlFamilyID: UInt16 = 1
    private static let controlFamilyName: UInt16 = 2
    private static let controlGroups: UInt16 = 7
    private static let controlGroupName: UInt16 = 1
    private static let controlGroupID: UInt16 = 2

    init(receiveBuffer: Int32 = 0) throws {
        fd = try Sys.netlinkSocket(protocol: Sys.netlinkGeneric, receiveBuffer: receiveBuffer)
        Sys.setReceiveTimeout(fd, milliseconds: 2000)
    }

    var descriptor: Int32 { fd.raw }

    /// The family's id and its multicast groups by name.
    func resolve(family name: String) throws -> GenericFamily {
        var attributes = NetlinkAttributeWriter()
        attributes.put(Self.controlFamilyName, string: name)
        let replies = try request(family: Self.controlFamily, command: Self.controlGetFamily, version: 1, attributes: attributes,
                                  object: "genl family \(name)")
        guard let reply = replies.first, let id = reply.u16(Self.controlFamilyID) else {
            throw NetlinkError(operation: "resolve genl family", object: name, code: 2, message: "no family id in the reply")
        }
        var groups: [String: UInt32] = [:]
        for group in reply.nested(Self.controlGroups)?.all ?? [] {
            let g = NetlinkAttributes(group.value)
            if let text = g[Self.controlGroupName], let gid = g.u32(Self.controlGroupID) {
                groups[String(decoding: text.prefix { $0 != 0 }, as: UTF8.self)] = gid
            }
        }
        return GenericFamily(name: name, id: id, groups: groups)
    }

    func join(group: UInt32, _ object: String) throws { try Sys.netlinkJoin(fd, group: group, object) }

    /// Sends one command and collects the attributes of every reply until the acknowledgment.
    /// A negative acknowledgment throws with the kernel's errno and extended-ack text.
    @discardableResult
    func request(family: UInt16, command: UInt8, version: UInt8, attributes: NetlinkAttributeWriter, dump: Bool = false,
                 object: String) throws -> [NetlinkAttributes] {
        sequence &+= 1
        let seq = sequence
        let flags = NetlinkMessage.flagRequest | NetlinkMessage.flagAck | (dump ? NetlinkMessage.flagDump : 0)
        let payload = [command, version, 0, 0] + attributes.bytes
        try Sys.netlinkSend(fd, NetlinkMessage.encode(type: family, flags: flags, sequence: seq, payload: payload), object)
        var replies: [NetlinkAttributes] = []
        while true {
            guard let n = try Sys.netlinkReceive(fd, into: &buffer, wait: true, object) else {
                throw NetlinkError(operation: "netlink reply", object: object, code: 110, message: "no reply within 2 s")
            }
            for message in NetlinkMessage.split(buffer[0..<n]) where message.sequence == seq {
                if let (code, text) = message.errorCode {
                    if code != 0 { throw NetlinkError(operation: "netlink request", object: object, code: code, message: text) }
                    return replies
                }
                if message.type == NetlinkMessage.typeDone { return replies }
                if message.type == family, message.payload.count >= 4 {
                    replies.append(NetlinkAttributes(message.payload.dropFirst(4)))
                }
            }
        }
    }

    /// Every datagram waiting now, split into (message type, generic command, attributes).
    /// `overrun` is set when the kernel dropped messages because the socket buffer was full.
    func drain(_ object: String) throws -> (messages: [(type: UInt16, command: UInt8, attributes: NetlinkAttributes)], overrun: Bool) {
        var result: [(UInt16, UInt8, NetlinkAttributes)] = []
        var overrun = false
        while true {
            let n: Int?
            do {
                n = try Sys.netlinkReceive(fd, into: &buffer, wait: false, object)
            } catch let error as SystemError where error.code == Sys.errnoENOBUFS {
                overrun = true
                continue
            }
            guard let n else { break }
            for message in NetlinkMessage.split(buffer[0..<n]) where message.payload.count >= 4 {
                result.append((message.type, message.payload[message.payload.startIndex], NetlinkAttributes(message.payload.dropFirst(4))))
            }
        }
        return (result, overrun)
    }
}

/// A resolved generic netlink family.
struct GenericFamily: Sendable {
    let name: String
    let id: UInt16
    let groups: [String: UInt32]
}

/// A netlink request the kernel refused: errno and, when given, the kernel's own explanation.
public struct NetlinkError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var object: String
    public var code: Int32
    public var message: String?

    public var description: String {
        "\(operation) \(object): \(Sys.errnoText(code))" + (message.map { " (\($0))" } ?? "")
    }
}
