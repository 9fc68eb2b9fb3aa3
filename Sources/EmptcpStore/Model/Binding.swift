/// Binds a flow key of one selector on one hook to a named action chain.
public struct Binding: Sendable, Hashable {
    /// What identifies the binding: two bindings with the same key are duplicates.
    public var key: BindingKey
    public var chain: String

    public init(_ key: BindingKey, chain: String) {
        self.key = key
        self.chain = chain
    }
}

/// Coded flat, the key's fields and then `chain` in one object, as files and JSON output have
/// always had it.
extension Binding: Codable {
    private enum CodingKeys: String, CodingKey { case chain }

    public init(from decoder: any Decoder) throws {
        key = try BindingKey(from: decoder)
        chain = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .chain)
    }

    public func encode(to encoder: any Encoder) throws {
        try key.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(chain, forKey: .chain)
    }
}

/// The identity of a binding (everything but its chain).
public struct BindingKey: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hook: Hook
    public var selector: SelectorKind
    public var local: IPAddress?
    public var localPort: UInt16?
    public var remote: IPAddress?
    public var remotePort: UInt16?

    /// The policy file's field names (docs/json.md).
    enum CodingKeys: String, CodingKey {
        case hook, selector, local, localPort = "local_port", remote, remotePort = "remote_port"
    }

    public init(
        hook: Hook, selector: SelectorKind, local: IPAddress? = nil, localPort: UInt16? = nil,
        remote: IPAddress? = nil, remotePort: UInt16? = nil
    ) {
        self.hook = hook
        self.selector = selector
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
    }

    /// A stable text form, also used as the binding's key column in the store.
    public var description: String {
        // Concatenation, not interpolation: built once per binding on every commit.
        var s = hook.rawValue
        s.reserveCapacity(96)
        s += " "
        s += selector.rawValue
        if let local { s += " local="; s += local.description }
        if let localPort { s += " local_port="; s += String(localPort) }
        if let remote { s += " remote="; s += remote.description }
        if let remotePort { s += " remote_port="; s += String(remotePort) }
        return s
    }

    /// The compact form the store keys rows and hashes content by: fixed positions, `-` for an
    /// absent field (`xdp tcp4 10.0.1.1 5201 10.0.1.2 40000`). Short on purpose: it is built,
    /// indexed and hashed once per binding of every commit, and with the chain name it fits one
    /// SHA-256 block.
    public var storageKey: String {
        var s = hook.rawValue
        s.reserveCapacity(48)
        s += " "
        s += selector.rawValue
        s += " "
        s += local?.description ?? "-"
        s += " "
        s += localPort.map { String($0) } ?? "-"
        s += " "
        s += remote?.description ?? "-"
        s += " "
        s += remotePort.map { String($0) } ?? "-"
        return s
    }

    public static func < (a: BindingKey, b: BindingKey) -> Bool { a.description < b.description }
}
