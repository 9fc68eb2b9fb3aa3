import CLibbpf
import Glibc

// Netlink sockets (generic netlink for the MPTCP path manager, sock_diag for the subflow dump):
// open, bind, join a multicast group, send one request, receive datagrams. The message layouts
// live in Netlink/; this file only moves bytes.

/// `struct sockaddr_nl` (linux/netlink.h, which Glibc's Swift module does not export).
private struct NetlinkAddress {
    var family = UInt16(AF_NETLINK)
    var pad: UInt16 = 0
    var portID: UInt32 = 0
    var groups: UInt32 = 0
}

extension Sys {
    static let netlinkGeneric: Int32 = 16   // NETLINK_GENERIC
    static let netlinkSockDiag: Int32 = 4   // NETLINK_SOCK_DIAG
    private static let solNetlink: Int32 = 270
    private static let netlinkAddMembership: Int32 = 1
    private static let netlinkExtAck: Int32 = 11

    /// An AF_NETLINK datagram socket of `protocol`, bound with a kernel-chosen port id.
    static func netlinkSocket(protocol proto: Int32, receiveBuffer: Int32 = 0) throws -> Descriptor {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else { throw fail("socket(AF_NETLINK)", "protocol \(proto)", errno) }
        let owned = Descriptor(fd)
        if receiveBuffer > 0 {
            var size = receiveBuffer
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var one: Int32 = 1
        _ = setsockopt(fd, solNetlink, netlinkExtAck, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = NetlinkAddress()
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size)) }
        }
        guard bound == 0 else { throw fail("bind(AF_NETLINK)", "protocol \(proto)", errno) }
        return owned
    }

    /// Subscribes the socket to a multicast group (a generic netlink family's group id).
    static func netlinkJoin(_ fd: Descriptor, group: UInt32, _ object: String) throws {
        var id = group
        guard setsockopt(fd.raw, solNetlink, netlinkAddMembership, &id, socklen_t(MemoryLayout<UInt32>.size)) == 0 else {
            throw fail("setsockopt(NETLINK_ADD_MEMBERSHIP)", object, errno)
        }
    }

    /// Sends one request to the kernel (port id 0).
    static func netlinkSend(_ fd: Descriptor, _ bytes: [UInt8], _ object: String) throws {
        var to = NetlinkAddress()
        let sent = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd.raw, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
            }
        }
        guard sent == bytes.count else { throw fail("sendto(netlink)", object, sent < 0 ? errno : EMSGSIZE) }
    }

    /// Receives one datagram into `buffer`; returns its length, or nil when nothing is waiting
    /// (`wait` false) or the timeout passed. ENOBUFS (the kernel dropped events because our
    /// buffer was full) is reported as `overrun` so the caller can resynchronise.
    static func netlinkReceive(_ fd: Descriptor, into buffer: inout [UInt8], wait: Bool, _ object: String) throws -> Int? {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress, $0.count, wait ? 0 : Int32(MSG_DONTWAIT)) }
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw fail("recv(netlink)", object, errno)
            }
        }
    }

    static let errnoENOBUFS = ENOBUFS
    static let errnoENOENT = ENOENT

    /// A receive timeout for request/response exchanges, so a silent kernel cannot hang us.
    static func setReceiveTimeout(_ fd: Descriptor, milliseconds: Int) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(fd.raw, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The current network namespace's value of a sysctl under /proc/sys, e.g. net/mptcp/pm_type.
    static func sysctl(_ name: String) -> String? {
        guard let bytes = try? readFile("/proc/sys/" + name) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmed([" ", "\n"])
    }

    /// CLOCK_MONOTONIC in nanoseconds (the clock of the ring buffer's timestamps).
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

private extension String {
    func trimmed(_ set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Sys {
    /// This host's addresses (getifaddrs), as 4- or 16-byte arrays.
    static func localAddresses() -> [[UInt8]] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [[UInt8]] = []
        var current: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = current {
            if let address = entry.pointee.ifa_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                        result.append(withUnsafeBytes(of: a.pointee.sin_addr) { Array($0) })
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                        result.append(withUnsafeBytes(of: a.pointee.sin6_addr) { Array($0) })
                    }
                default: break
                }
            }
            current = entry.pointee.ifa_next
        }
        return result
    }
}
