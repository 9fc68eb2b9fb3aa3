import EmptcpStore
import Foundation
import Glibc
import Testing
@testable import EmptcpApply

/// The daemon's kernel interfaces on a real MPTCP connection over loopback in the test's own
/// network namespace: the path manager's events (CREATED/ESTABLISHED/CLOSED with the token),
/// the sock_diag subflow dump (same token, both ends), and the iter/tcp state (each side's
/// rcv_nxt equals the other's snd_nxt once the data is read).
@Suite(.serialized) struct RuntimeKernelTests {
    @Test func pathManagerEventsSubflowDumpAndTcpStateAgree() throws {
        let fixture = try ApplierFixture("rt")
        defer { fixture.cleanup() }
        try fixture.sh("ip link set lo up", inNetns: true)
        try fixture.inNetns {
            let monitor = try MptcpEventMonitor()
            let reader = try TcpStateReader(bpfDir: fixture.bpfDir, mapPins: NSTemporaryDirectory(), logDirectory: NSTemporaryDirectory())
            let (listener, client, server, port) = try mptcpPair()
            defer { close(listener); close(server) }
            let payload = [UInt8](repeating: 7, count: 3000)
            #expect(write(client, payload, payload.count) == payload.count)
            var sink = [UInt8](repeating: 0, count: 4096)
            var got = 0
            while got < payload.count { let n = read(server, &sink, sink.count); if n <= 0 { break }; got += n }
            #expect(got == payload.count)

            let events = try waitEvents(monitor) { $0.contains { $0.kind == .established } && $0.filter { $0.kind == .created }.count >= 2 }
            let created = events.filter { $0.kind == .created }
            #expect(created.count == 2, "\(events.map(\.text))")  // one per end
            let clientToken = try #require(created.first { $0.remotePort == port }?.token)  // the connecting end

            let subflows = try SubflowDiag.dump()
            #expect(subflows.count == 2, "\(subflows)")
            let clientSide = try #require(subflows.first { $0.token == clientToken })
            #expect(clientSide.subflow.local == IPAddress("127.0.0.1")! && !clientSide.peerBackup)
            let serverSide = try #require(subflows.first { $0.subflow.localPort == clientSide.subflow.remotePort })

            let states = try reader.read()
            let c = try #require(states[clientSide.subflow])
            let s = try #require(states[serverSide.subflow])
            #expect(c.isMPTCP && s.isMPTCP)
            #expect(s.receiveNext == c.sendNext && c.receiveNext == s.sendNext)
            #expect(c.sendUnacknowledged == c.sendNext)  // everything acknowledged

            close(client)
            let closed = try waitEvents(monitor) { $0.contains { $0.kind == .closed && $0.token == clientToken } }
            #expect(closed.contains { $0.kind == .closed && $0.token == clientToken })
        }
    }

    private func waitEvents(_ monitor: MptcpEventMonitor, until done: ([MptcpPmEvent]) -> Bool) throws -> [MptcpPmEvent] {
        var all: [MptcpPmEvent] = []
        for _ in 0..<100 where !done(all) {
            _ = try Sys.waitReadable([monitor.pollDescriptor], timeoutMs: 50)
            all += try monitor.read().events
        }
        return all
    }

    /// A listener, a connected client and the accepted server socket, all MPTCP on 127.0.0.1.
    private func mptcpPair() throws -> (Int32, Int32, Int32, UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 262 /* IPPROTO_MPTCP */)
        try #require(listener >= 0, "MPTCP socket: \(String(cString: strerror(errno)))")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } } == 0)
        try #require(listen(listener, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 262)
        try #require(withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } } == 0)
        let server = accept(listener, nil, nil)
        try #require(server >= 0)
        return (listener, client, server, UInt16(bigEndian: address.sin_port))
    }
}
