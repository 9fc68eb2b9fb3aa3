import CLibbpf
import EmptcpStore

/// A TCP socket's sequence state at one moment, read by the `iter/tcp` program
/// (bpf/iter/tcp_state.c). From our side: `receiveNext` is the peer's next sequence number,
/// `sendUnacknowledged` the oldest byte of ours the peer has not acknowledged.
public struct TcpSocketState: Sendable, Equatable {
    public var subflow: SubflowKey
    public var receiveNext: UInt32
    public var receiveWindowUpdate: UInt32
    public var sendUnacknowledged: UInt32
    public var sendNext: UInt32
    public var sendWindow: UInt32
    public var timestampRecent: UInt32
    /// The peer's window scale: the window field it would send is sendWindow >> this.
    public var sendWindowScale: UInt8
    public var isMPTCP: Bool

    /// The window field of a segment from the peer that leaves our view of its window as it is.
    public var peerWindowField: UInt16 { UInt16(clamping: sendWindow >> UInt32(min(sendWindowScale, 14))) }
}

/// Runs the iter/tcp program over the caller's network namespace. Loaded once (one verifier
/// pass, through the ObjectLoader: a rejection is saved as `verifier-iter-tcp_state.log` in
/// `logDirectory`); every `read()` is a fresh walk, so the state is current when a segment is
/// built.
public final class TcpStateReader {
    private let link: Descriptor
    private let path: String
    public static let objectName = "iter/tcp_state.o"
    static let programName = "emptcp_tcpstate"

    /// - Parameter mapPins: the pin root's map directory (the object declares no maps; every
    ///   object is opened the same way).
    public init(bpfDir: String, mapPins: String, logDirectory: String) throws {
        let path = bpfDir + "/" + Self.objectName
        self.path = path
        let loader = ObjectLoader(mapPins: mapPins, logDirectory: logDirectory)
        link = try loader.load(path, shown: Self.objectName, logName: "iter-tcp_state", choose: { _ in Self.programName }) { programs in
            guard let program = programs.first(where: { $0.name == Self.programName }) else {
                throw Sys.fail("find program \(Self.programName)", path, Sys.errnoENOENT)
            }
            return try Sys.iteratorLink(programFD: program.fd, path)
        }
    }

    /// Every established TCP socket now, keyed by its subflow.
    public func read() throws -> [SubflowKey: TcpSocketState] {
        let bytes = try Sys.readIterator(link, path)
        let size = MemoryLayout<emptcp_tcp_iter_record>.size
        var result: [SubflowKey: TcpSocketState] = [:]
        var at = 0
        while at + size <= bytes.count {
            var record = emptcp_tcp_iter_record()
            withUnsafeMutableBytes(of: &record) { $0.copyBytes(from: bytes[at..<(at + size)]) }
            at += size
            if let state = Self.decode(record) { result[state.subflow] = state }
        }
        return result
    }

    static func decode(_ r: emptcp_tcp_iter_record) -> TcpSocketState? {
        guard r.version == EMPTCP_TCP_ITER_VERSION else { return nil }
        let length = r.family == 4 ? 4 : 16
        let local = withUnsafeBytes(of: r.local) { IPAddress(bytes: Array($0.prefix(length))) }
        let remote = withUnsafeBytes(of: r.remote) { IPAddress(bytes: Array($0.prefix(length))) }
        guard let local, let remote else { return nil }
        let key = SubflowKey(local: local, localPort: UInt16(bigEndian: r.local_port), remote: remote, remotePort: UInt16(bigEndian: r.remote_port))
        return TcpSocketState(subflow: key, receiveNext: r.rcv_nxt, receiveWindowUpdate: r.rcv_wup, sendUnacknowledged: r.snd_una,
                              sendNext: r.snd_nxt, sendWindow: r.snd_wnd, timestampRecent: r.ts_recent,
                              sendWindowScale: r.snd_wscale, isMPTCP: r.is_mptcp != 0)
    }
}
