/// The one canonical spelling of actors and selector steps, shared by the file renderer, the
/// stored JSON columns and the content hash, so all three agree on what "the same" means.
enum PolicyCanonical {
    /// An actor's parameters in file order, each as a YAML/JSON scalar.
    static func parameters(_ a: ActorCall) -> [(key: String, value: String)] {
        switch a {
        case .setRecvWin(let window): [("window", "\(window)")]
        case .setFlowPrio(let backup, let addrId): [("backup", "\(backup)")] + (addrId.map { [("addr_id", "\($0)")] } ?? [])
        case .rmAddAddr, .recoverAddAddr, .catchMptcpEvents: []
        case .record(let packets, let flow, let rtt): [("pkt", "\(packets)"), ("flow", "\(flow)"), ("rtt", "\(rtt)")]
        case .module(_, let param): [("param", "\(param)")]
        }
    }

    /// `{"set_recv_win":{"window":1600}}`
    static func actorJSON(_ a: ActorCall) -> String {
        let params = parameters(a).map { "\(jsonString($0.key)):\($0.value)" }.joined(separator: ",")
        return "{\(jsonString(a.name)):{\(params)}}"
    }

    static func actorsJSON(_ actors: [ActorCall]) -> String {
        "[" + actors.map(actorJSON).joined(separator: ",") + "]"
    }

    /// `[{"tcp4":"or"},{"tcp2":"and"}]`
    static func stepsJSON(_ steps: [SelectorStep]) -> String {
        "[" + steps.map { "{\(jsonString($0.name)):\(jsonString($0.op.rawValue))}" }.joined(separator: ",") + "]"
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension Policy {
    /// The policy with bindings sorted by key and empty selector chains dropped: two policies with
    /// the same content have equal canonical forms.
    public var canonical: Policy {
        var p = self
        p.selectors = selectors.filter { !$0.value.isEmpty }
        p.bindings = bindings.map { ($0.key.description, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        return p
    }
}
