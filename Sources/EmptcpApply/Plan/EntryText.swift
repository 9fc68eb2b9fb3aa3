import CLibbpf
import EmptcpStore

/// Human-readable forms of raw map entries, for drift reports.
enum EntryText {
    static func key(_ map: MapID, _ key: Bytes) -> String {
        switch map.kind {
        case .selectorChain: return "selector chain"
        case .tcpDefault: return "tcp default"
        case .chains: return "chain index \(u32(key))"
        case .tcp2:
            guard key.count == MemoryLayout<emptcp_tcp2_key>.size else { return hex(key) }
            let k = key.withUnsafeBytes { $0.loadUnaligned(as: emptcp_tcp2_key.self) }
            let (local, remote) = (address(k.family, k.local), address(k.family, k.remote))
            return "local=\(local) remote=\(remote)"
        case .tcp4:
            guard key.count == MemoryLayout<emptcp_tcp4_key>.size else { return hex(key) }
            let k = key.withUnsafeBytes { $0.loadUnaligned(as: emptcp_tcp4_key.self) }
            let (local, remote) = (address(k.family, k.local), address(k.family, k.remote))
            return "local=\(local) local_port=\(UInt16(bigEndian: k.local_port)) remote=\(remote) remote_port=\(UInt16(bigEndian: k.remote_port))"
        }
    }

    static func value(_ map: MapID, _ value: Bytes, names: [UInt32: String]) -> String {
        switch map.kind {
        case .tcp2, .tcp4, .tcpDefault:
            let id = u32(value)
            if id == 0 { return "none" }
            return names[id].map { "chain \($0)" } ?? "chain index \(id)"
        case .selectorChain:
            guard value.count == MemoryLayout<emptcp_selector_chain>.size else { return hex(value) }
            let len = Int(value[0])
            let stride = MemoryLayout<emptcp_selector_step>.stride
            let base = MemoryLayout<emptcp_selector_chain>.offset(of: \.steps)!
            let steps = (0..<min(len, Int(EMPTCP_MAX_SELECTORS))).map { i in
                "slot \(value[base + i * stride]):\(value[base + i * stride + 1] == 1 ? "and" : "or")"
            }
            return "[\(steps.joined(separator: ", "))]"
        case .chains:
            guard value.count == MemoryLayout<emptcp_action_chain>.size else { return hex(value) }
            let len = Int(value[0])
            let stride = MemoryLayout<emptcp_actor_call>.stride
            let base = MemoryLayout<emptcp_action_chain>.offset(of: \.actors)!
            let actors = (0..<min(len, Int(EMPTCP_MAX_ACTORS))).map { i in
                let at = base + i * stride
                let param = value[(at + 8)..<(at + 16)]
                return "slot \(value[at])" + (param.allSatisfy { $0 == 0 } ? "" : " param \(hex(Array(param)))")
            }
            return "[\(actors.joined(separator: ", "))]"
        }
    }

    static func u32(_ bytes: Bytes) -> UInt32 {
        bytes.count >= 4 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0
    }

    static func hex(_ bytes: Bytes) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    private static func address<T>(_ family: UInt8, _ tuple: T) -> String {
        let bytes = withUnsafeBytes(of: tuple) { Array($0) }
        let used = family == UInt8(EMPTCP_AF_INET) ? Array(bytes.prefix(4)) : bytes
        return IPAddress(bytes: used)?.description ?? hex(bytes)
    }
}
