// CLibbpf too: its headers pull in glibc's socket headers, and which module then owns SOCK_* depends on
// which is loaded first; importing both makes them visible either way.
import CLibbpf
import Glibc

// Raw IP sockets: crafted packets sent through the host stack (packet injection).

extension Sys {
    /// A raw socket that sends whole IP packets (IPPROTO_RAW implies IP_HDRINCL / IPV6_HDRINCL).
    static func rawIPSocket(v6: Bool) throws -> Descriptor {
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else { throw fail("socket(SOCK_RAW, IPPROTO_RAW)", v6 ? "IPv6" : "IPv4", errno) }
        return Descriptor(fd)
    }

    /// Sends one crafted IP packet to `destination` (4 or 16 bytes).
    static func sendRaw(_ fd: Descriptor, packet: [UInt8], destination: [UInt8], _ object: String) throws {
        let sent: Int
        if destination.count == 4 {
            var to = sockaddr_in()
            to.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &to.sin_addr) { $0.copyBytes(from: destination) }
            sent = send(fd, packet, to: to)
        } else {
            var to = sockaddr_in6()
            to.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &to.sin6_addr) { $0.copyBytes(from: destination) }
            sent = send(fd, packet, to: to)
        }
        guard sent == packet.count else { throw fail("sendto(raw)", object, sent < 0 ? errno : EMSGSIZE) }
    }

    /// sendto(2) with a sockaddr_in or sockaddr_in6; the bytes sent, or -1.
    private static func send<Address>(_ fd: Descriptor, _ packet: [UInt8], to address: Address) -> Int {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd.raw, packet, packet.count, 0, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }
}
