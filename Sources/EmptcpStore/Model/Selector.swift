/// The selectors a binding can name. `module` selectors are operator programs added with
/// `emptcp module add`; they take no flow key and no binding of their own.
public enum SelectorKind: String, Codable, Sendable, CaseIterable, Comparable {
    /// Every TCP packet: one default action chain per hook.
    case tcp
    /// (local address, remote address).
    case tcp2
    /// (local address, local port, remote address, remote port).
    case tcp4

    public static func < (a: SelectorKind, b: SelectorKind) -> Bool { a.rawValue < b.rawValue }
}

/// How a selector's result combines with the rest of the chain (docs/sdk.md, "Chain semantics").
public enum SelectorOp: String, Codable, Sendable {
    /// If this selector matches, take its action chain (first match wins); else go on.
    case or
    /// Must match, else the packet is not a target; on a match go on (the last match's chain is taken).
    case and
}

/// One step of a hook's selector chain. `name` is a built-in `SelectorKind` raw value or the name
/// of an operator module selector.
public struct SelectorStep: Codable, Sendable, Hashable {
    public var name: String
    public var op: SelectorOp

    public init(name: String, op: SelectorOp) {
        self.name = name
        self.op = op
    }

    public var builtin: SelectorKind? { SelectorKind(rawValue: name) }

    /// As the policy file writes it: `{"tcp4": "or"}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: NameKey.self)
        try c.encode(op, forKey: NameKey(name))
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: NameKey.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a selector step is one {NAME: or|and}"))
        }
        self.init(name: key.stringValue, op: try c.decode(SelectorOp.self, forKey: key))
    }
}
