import CLibbpf
import Glibc

extension Sys {
    /// What ETHTOOL_GDRVINFO reports for a network device of this network namespace: its driver
    /// and the bus it sits on (empty or "N/A" for software devices). nil when the device answers
    /// no ethtool request (loopback) or does not exist.
    static func driverInfo(_ iface: String) -> (driver: String, busInfo: String)? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = ethtool_drvinfo()
        info.cmd = UInt32(ETHTOOL_GDRVINFO)
        var request = ifreq()
        let name = Array(iface.utf8.prefix(Int(IFNAMSIZ) - 1))
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            for (i, byte) in name.enumerated() { raw[i] = byte }
        }
        let ret = withUnsafeMutablePointer(to: &info) { pointer -> Int32 in
            request.ifr_ifru.ifru_data = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: CChar.self)
            return withUnsafeMutablePointer(to: &request) { ioctl(fd, UInt(SIOCETHTOOL), $0) }
        }
        guard ret == 0 else { return nil }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (text(info.driver), text(info.bus_info))
    }
}
