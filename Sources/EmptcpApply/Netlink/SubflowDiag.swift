import EmptcpStore

/// One MPTCP subflow as the kernel's sock_diag reports it: the TCP socket's addresses and the
/// MPTCP subflow attributes (INET_DIAG_ULP_INFO / INET_ULP_INFO_MPTCP), among them the
/// connection's local token (the token of the path manager's events) and the backup flags.
public struct SubflowInfo: Sendable, Equatable, Codable {
    public var subflow: SubflowKey
    public var token: UInt32
    public var flags: UInt32
    public var localID: UInt8
    public var remoteID: UInt8
    /// From the socket's struct tcp_info (INET_DIAG_INFO): bytes the peer acknowledged (what we
    /// sent) and bytes we received, on this subflow.
    public var bytesAcked: UInt64 = 0
    public var bytesReceived: UInt64 = 0

    /// The peer marked this subflow backup (it sent MP_PRIO B=1, or joined with B=1).
    public var peerBackup: Bool { flags & SubflowDiag.flagBackupRemote != 0 }
    /// We asked for backup ourselves.
    public var localBackup: Bool { flags & SubflowDiag.flagBackupLocal != 0 }
}

/// Dumps the established MPTCP subflows of the caller's network namespace through
/// NETLINK_SOCK_DIAG. Connections that began before the daemon are learned this way, with
/// their tokens.
public enum SubflowDiag {
    static let flagBackupRemote: UInt32 = 1 << 4  // MPTCP_SUBFLOW_FLAG_BKUP_REM
    static let flagBackupLocal: UInt32 = 1 << 5   // MPTCP_SUBFLOW_FLAG_BKUP_LOC
    private static let sockDiagByFamily: UInt16 = 20
    private static let diagInfo: UInt8 = 2        // INET_DIAG_INFO (asks for the aux attributes too)
    private static let diagULPInfo: UInt16 = 19   // INET_DIAG_ULP_INFO
    private static let ulpInfoMPTCP: UInt16 = 3   // INET_ULP_INFO_MPTCP
    private static let subflowTokenLocal: UInt16 = 2, subflowFlags: UInt16 = 8, subflowIDRemote: UInt16 = 9, subflowIDLocal: UInt16 = 10

    /// Every MPTCP subflow in state ESTABLISHED or CLOSE_WAIT, IPv4 and IPv6.
    public static func dump() throws -> [SubflowInfo] {
        let socket = try Sys.netlinkSocket(protocol: Sys.netlinkSockDiag)
        Sys.setReceiveTimeout(socket, milliseconds: 2000)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var result: [SubflowInfo] = []
        for (family, sequence) in [(UInt8(2), UInt32(1)), (UInt8(10), UInt32(2))] {
            var request: [UInt8] = [family, 6 /* IPPROTO_TCP */, 1 << (diagInfo - 1), 0]
            request += le32((1 << 1) | (1 << 8))  // TCPF_ESTABLISHED | TCPF_CLOSE_WAIT
            request += [UInt8](repeating: 0, count: 48)  // inet_diag_sockid: everything
            try Sys.netlinkSend(socket, NetlinkMessage.encode(type: sockDiagByFamily, flags: NetlinkMessage.flagRequest | NetlinkMessage.flagDump,
                                                              sequence: sequence, payload: request), "sock_diag dump")
            dumpLoop: while true {
                guard let n = try Sys.netlinkReceive(socket, into: &buffer, wait: true, "sock_diag dump") else {
                    throw NetlinkError(operation: "sock_diag dump", object: "tcp", code: 110, message: "no reply within 2 s")
                }
                for message in NetlinkMessage.split(buffer[0..<n]) where message.sequence == sequence {
                    if let (code, text) = message.errorCode {
                        if code != 0 { throw NetlinkError(operation: "sock_diag dump", object: "tcp", code: code, message: text) }
                        break dumpLoop
                    }
                    if message.type == NetlinkMessage.typeDone { break dumpLoop }
                    if message.type == sockDiagByFamily, let info = subflow(message.payload) { result.append(info) }
                }
            }
        }
        return result
    }

    /// One inet_diag_msg (72 bytes) and its attributes; nil for a plain TCP socket.
    static func subflow(_ p: ArraySlice<UInt8>) -> SubflowInfo? {
        guard p.count >= 72 else { return nil }
        let s = p.startIndex
        let v4 = p[s] == 2
        let length = v4 ? 4 : 16
        guard let local = IPAddress(bytes: Array(p[(s + 8)..<(s + 8 + length)])),
              let remote = IPAddress(bytes: Array(p[(s + 24)..<(s + 24 + length)])) else { return nil }
        let localPort = UInt16(p[s + 4]) << 8 | UInt16(p[s + 5])
        let remotePort = UInt16(p[s + 6]) << 8 | UInt16(p[s + 7])
        let attributes = NetlinkAttributes(p[(s + 72)...])
        guard let mptcp = attributes.nested(diagULPInfo)?.nested(ulpInfoMPTCP), let token = mptcp.u32(subflowTokenLocal) else { return nil }
        var info = SubflowInfo(subflow: SubflowKey(local: local, localPort: localPort, remote: remote, remotePort: remotePort),
                               token: token, flags: mptcp.u32(subflowFlags) ?? 0,
                               localID: mptcp.u8(subflowIDLocal) ?? 0, remoteID: mptcp.u8(subflowIDRemote) ?? 0)
        // struct tcp_info: tcpi_bytes_acked at 120, tcpi_bytes_received at 128 (since Linux 4.1/4.2).
        if let tcp = attributes[UInt16(diagInfo)], tcp.count >= 136 {
            func le64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(tcp[tcp.startIndex + at + $1]) << (8 * UInt64($1)) } }
            info.bytesAcked = le64(120)
            info.bytesReceived = le64(128)
        }
        return info
    }
}
