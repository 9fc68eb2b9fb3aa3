/// Whether a network device is a physical (or paravirtual) NIC or a software device: veth,
/// bridge, loopback, tun, dummy, ifb, vxlan... Native XDP belongs on NICs; on veth it costs about
/// 90 % of receive throughput even for a bare pass program (docs/architecture.md), so `auto`
/// attaches generic XDP to software devices, and `attach --all` leaves them out unless asked.
enum DeviceClass {
    /// Why `iface` counts as a software device ("veth", "bridge", "no driver information"), or
    /// nil for a device on a bus (PCI, USB, virtio...). Asked through ethtool in this network
    /// namespace, so it holds inside namespaces where /sys shows another one.
    static func virtualDevice(_ iface: String) -> String? {
        guard let info = Sys.driverInfo(iface) else { return "no driver information" }
        if info.busInfo.allSatisfy(\.isWhitespace) || info.busInfo == "N/A" { return info.driver.isEmpty ? "no bus" : info.driver }
        return nil
    }
}
