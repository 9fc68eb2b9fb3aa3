import EmptcpStore

/// Where `daemon run --metrics` listens, spelled as node_exporter's `--web.listen-address`:
/// `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (every address, IPv6 and IPv4). HOST is an IPv4
/// address, a bracketed IPv6 address or a host name (resolved when binding).
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// nil: every address.
    public var host: String?
    public var port: Int

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(host: String?, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        func invalid(_ why: String) -> Invalid {
            Invalid(description: "invalid metrics address \"\(text)\": \(why) (HOST:PORT, [IPV6]:PORT or :PORT)")
        }
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("no closing bracket") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid("a port must follow the bracket") }
            portPart = rest.dropFirst()
            guard let address = IPAddress(String(hostPart)), !address.isIPv4 else { throw invalid("\(hostPart) is not an IPv6 address") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid("no port") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw invalid("an IPv6 address goes in brackets, [\(hostPart)]:\(portPart)") }
            if !hostPart.isEmpty && !Self.isHostName(hostPart) { throw invalid("\(hostPart) is not an address or host name") }
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber), portPart.count <= 5,
              let port = Int(portPart), port <= 65535 else {
            throw invalid("port \"\(portPart)\" is not a number from 0 to 65535")
        }
        self.host = hostPart.isEmpty ? nil : String(hostPart)
        self.port = port
    }

    /// Letters, digits, dots and hyphens (which also covers dotted IPv4).
    static func isHostName(_ s: Substring) -> Bool {
        s.count <= 253 && s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") }
    }

    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
