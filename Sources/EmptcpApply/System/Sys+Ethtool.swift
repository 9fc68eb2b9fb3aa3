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
        // struct ethtool_drvinfo (linux/ethtool.h), written out: the uapi header does not mix
        // with glibc's socket headers in one Swift module. cmd, then 32-byte strings: driver,
        // version, fw_version, bus_info, erom_version; 12 reserved bytes; five __u32 counts.
        var info = [UInt8](repeating: 0, count: 196)
        withUnsafeBytes(of: ethtoolGetDriverInfo) { for i in 0..<4 { info[i] = $0[i] } }
        var request = ifreq()
        let name = Array(iface.utf8.prefix(Int(IFNAMSIZ) - 1))
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            for (i, byte) in name.enumerated() { raw[i] = byte }
        }
        let ret = info.withUnsafeMutableBytes { buffer -> Int32 in
            request.ifr_ifru.ifru_data = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            return withUnsafeMutablePointer(to: &request) { ioctl(fd, siocEthtool, $0) }
        }
        guard ret == 0 else { return nil }
        func text(_ offset: Int) -> String { String(decoding: info[offset..<offset + 32].prefix { $0 != 0 }, as: UTF8.self) }
        return (text(4), text(100))
    }

    /// SIOCETHTOOL (linux/sockios.h) and ETHTOOL_GDRVINFO (linux/ethtool.h).
    private static let siocEthtool: UInt = 0x8946
    private static let ethtoolGetDriverInfo: UInt32 = 0x0000_0003
}
