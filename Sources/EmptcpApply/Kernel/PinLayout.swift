import EmptcpStore

/// Where emptcp pins its objects under the pin root:
///
///     <root>/maps/<map name>            every map (LIBBPF_PIN_BY_NAME, shared by all objects)
///     <root>/progs/<hook>/<object>      one program per object (entry, sel_tcp2, set_recv_win, ...)
///     <root>/links/<iface>/xdp          the XDP bpf_link of an interface
///     <root>/links/<iface>/tc           the tcx egress bpf_link of an interface
struct PinLayout: Sendable {
    let root: String

    var maps: String { root + "/maps" }
    var progs: String { root + "/progs" }
    var links: String { root + "/links" }

    func map(_ name: String) -> String { "\(maps)/\(name)" }
    func progDirectory(_ hook: Hook) -> String { "\(progs)/\(hook.rawValue)" }
    func prog(_ hook: Hook, _ name: String) -> String { "\(progs)/\(hook.rawValue)/\(name)" }
    func linkDirectory(_ iface: String) -> String { "\(links)/\(iface)" }
    func link(_ iface: String, _ hook: Hook) -> String { "\(links)/\(iface)/\(hook.rawValue)" }
}
