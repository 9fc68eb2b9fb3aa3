import CYaml
import Glibc
import Yams

/// The fast path of `PolicyFile.parse`: reads libyaml's events and builds the policy as it goes,
/// with no node tree for the bindings (a 100k-binding file would hold several hundred thousand
/// nodes and resolve each plain scalar through regular expressions).
///
/// It never reports an error itself. It accepts only what the node-tree reader accepts and
/// yields what that reader yields: the selector and chain sections (a few entries) are turned
/// into nodes and read by `NodeReader` itself, and each binding field is taken only in the
/// forms whose YAML type is certain (a quoted string, a plain name or dotted address, a plain
/// decimal port). Anything else (a syntax error, a tag, a duplicate or unknown key, a value of
/// another type, an out-of-range port) returns nil, and the caller parses the text again the
/// slow way, which yields the same policy or the error with its line.
enum PolicyEventReader {
    static func read(_ bytes: UnsafeBufferPointer<UInt8>) -> Policy? {
        guard !bytes.isEmpty else { return nil }
        var reader = Reader(stream: YAMLEventStream(bytes))
        return try? reader.document()
    }

    /// The text is outside what the fast path takes: parse it the slow way.
    struct Unsupported: Error {}

    private struct Reader {
        let stream: YAMLEventStream
        var nodes = NodeReader(map: SourceMap())
        /// The last chain name read and its bytes: bindings mostly repeat a few chain names.
        var lastChain = "", lastChainBytes: [UInt8] = []

        init(stream: YAMLEventStream) { self.stream = stream }

        func advance() throws {
            guard stream.advance() else { throw Unsupported() }
        }

        func expect(_ type: yaml_event_type_t) throws {
            try advance()
            guard stream.type == type else { throw Unsupported() }
        }

        mutating func document() throws -> Policy {
            try expect(YAML_STREAM_START_EVENT)
            try advance()
            if stream.type == YAML_STREAM_END_EVENT { return Policy() }
            guard stream.type == YAML_DOCUMENT_START_EVENT else { throw Unsupported() }
            try advance()
            let policy: Policy
            if stream.type == YAML_MAPPING_START_EVENT {
                policy = try sections()
            } else {
                let root = try compose()
                policy = try nodes.policy(root)
            }
            try expect(YAML_DOCUMENT_END_EVENT)
            try expect(YAML_STREAM_END_EVENT)
            return policy
        }

        /// The top-level mapping: selectors and chains as nodes, bindings streamed.
        mutating func sections() throws -> Policy {
            try plainCollection(stream.event.data.mapping_start.tag, stream.event.data.mapping_start.anchor)
            var policy = Policy()
            var seen = Set<String>()
            var selectors: Node?, chains: Node?
            while true {
                try advance()
                if stream.type == YAML_MAPPING_END_EVENT { break }
                guard stream.type == YAML_SCALAR_EVENT, let name = nodes.string(.scalar(try scalar())), seen.insert(name).inserted else {
                    throw Unsupported()
                }
                try advance()
                switch name {
                case "selectors": selectors = try compose()
                case "chains": chains = try compose()
                case "bindings": policy.bindings = try bindings()
                case "schema":
                    // As `NodeReader.policy` checks it: the scalar text must be this version.
                    guard try compose().scalar?.string == String(OutputSchema.version) else { throw Unsupported() }
                default: throw Unsupported()
                }
            }
            if let selectors { policy.selectors = try nodes.selectors(selectors) }
            if let chains { policy.chains = try nodes.chains(chains) }
            return policy
        }

        mutating func bindings() throws -> [Binding] {
            guard stream.type == YAML_SEQUENCE_START_EVENT else { return try nodes.bindings(try compose()) }
            try plainCollection(stream.event.data.sequence_start.tag, stream.event.data.sequence_start.anchor)
            var out: [Binding] = []
            while true {
                try advance()
                if stream.type == YAML_SEQUENCE_END_EVENT { return out }
                guard stream.type == YAML_MAPPING_START_EVENT else { throw Unsupported() }
                try plainCollection(stream.event.data.mapping_start.tag, stream.event.data.mapping_start.anchor)
                out.append(try binding())
            }
        }

        static let fields: [[UInt8]] = ["hook", "selector", "local", "local_port", "remote", "remote_port", "chain"].map { Array($0.utf8) }

        /// One binding mapping, field by field, in the forms whose type is certain.
        mutating func binding() throws -> Binding {
            var seen: UInt8 = 0
            var hook: Hook?, selector: SelectorKind?, chain: String?
            var local: IPAddress?, remote: IPAddress?, localPort: UInt16?, remotePort: UInt16?
            while true {
                try advance()
                if stream.type == YAML_MAPPING_END_EVENT { break }
                guard stream.type == YAML_SCALAR_EVENT, isString(), let field = Self.fields.firstIndex(where: { equals($0) }),
                      seen & (1 << field) == 0
                else { throw Unsupported() }
                seen |= 1 << field
                try advance()
                guard stream.type == YAML_SCALAR_EVENT else { throw Unsupported() }
                switch field {
                case 0:
                    guard isString() else { throw Unsupported() }
                    hook = equals(Self.xdp) ? .xdp : equals(Self.tc) ? .tc : nil
                    if hook == nil { throw Unsupported() }
                case 1:
                    guard isString() else { throw Unsupported() }
                    selector = equals(Self.tcp4) ? .tcp4 : equals(Self.tcp2) ? .tcp2 : equals(Self.tcp) ? .tcp : nil
                    if selector == nil { throw Unsupported() }
                case 2: local = try address()
                case 3: localPort = try port()
                case 4: remote = try address()
                case 5: remotePort = try port()
                default:
                    guard isString(), stream.event.data.scalar.length > 0 else { throw Unsupported() }
                    if !equals(lastChainBytes) {
                        lastChain = try scalar().string
                        lastChainBytes = Array(bytes)
                    }
                    chain = lastChain
                }
            }
            guard let hook, let selector, let chain else { throw Unsupported() }
            return Binding(BindingKey(hook: hook, selector: selector, local: local, localPort: localPort, remote: remote,
                                      remotePort: remotePort), chain: chain)
        }

        static let xdp = Array("xdp".utf8), tc = Array("tc".utf8)
        static let tcp = Array("tcp".utf8), tcp2 = Array("tcp2".utf8), tcp4 = Array("tcp4".utf8)

        // MARK: scalars

        var bytes: UnsafeBufferPointer<UInt8> {
            let s = stream.event.data.scalar
            return UnsafeBufferPointer(start: s.value, count: s.length)
        }

        func equals(_ word: [UInt8]) -> Bool {
            let b = bytes
            guard b.count == word.count else { return false }
            return b.isEmpty || word.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
        }

        /// Whether the current scalar is a string in YAML's eyes, as `NodeReader.string` decides.
        func isString() -> Bool {
            let s = stream.event.data.scalar
            guard s.tag == nil, s.anchor == nil else { return false }
            if s.style != YAML_PLAIN_SCALAR_STYLE { return true }  // quoted: !!str
            if let known = PlainScalar.isString(bytes) { return known }
            return (try? NodeReader.scalarType(.scalar(scalar()))) == Tag.Name.str.rawValue
        }

        /// An address field: a string that inet_pton reads (the scalar is NUL-terminated).
        func address() throws -> IPAddress {
            let b = bytes
            guard isString(), !b.isEmpty, memchr(b.baseAddress!, 0, b.count) == nil else { throw Unsupported() }
            let text = UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self)
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) })! }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) })! }
            throw Unsupported()
        }

        /// A port: plain decimal 1…65535 without a leading zero (which YAML resolves to !!int).
        func port() throws -> UInt16 {
            let s = stream.event.data.scalar
            let b = bytes
            guard s.tag == nil, s.anchor == nil, s.style == YAML_PLAIN_SCALAR_STYLE, (1...5).contains(b.count), b[0] != 0x30 else {
                throw Unsupported()
            }
            var value = 0
            for c in b {
                guard c >= 0x30, c <= 0x39 else { throw Unsupported() }
                value = value * 10 + Int(c - 0x30)
            }
            guard value <= 65535 else { throw Unsupported() }
            return UInt16(value)
        }

        // MARK: nodes, as Yams composes them

        /// The current scalar as Yams' composer builds it (no mark: the fast path records no lines).
        /// Tags carry the basic resolver, as the parsers' nodes do: `NodeReader.scalarType`
        /// resolves plain scalars itself, and Yams' default resolver compiles its regular
        /// expressions (ICU) when first named, a cost every command that reads a policy paid.
        func scalar() throws -> Node.Scalar {
            let s = stream.event.data.scalar
            guard s.tag == nil, s.anchor == nil, let style = Node.Scalar.Style(rawValue: UInt32(s.style.rawValue)) else { throw Unsupported() }
            let text = String(decoding: bytes, as: UTF8.self)
            return Node.Scalar(text, s.quoted_implicit == 1 ? Tag(.str, .basic) : Tag(.implicit, .basic), style)
        }

        /// The node starting at the current event, whole; on return the current event is its last.
        func compose() throws -> Node {
            switch stream.type {
            case YAML_SCALAR_EVENT:
                return .scalar(try scalar())
            case YAML_SEQUENCE_START_EVENT:
                try plainCollection(stream.event.data.sequence_start.tag, stream.event.data.sequence_start.anchor)
                var items: [Node] = []
                while true {
                    try advance()
                    if stream.type == YAML_SEQUENCE_END_EVENT { return .sequence(Node.Sequence(items, Tag(.implicit, .basic))) }
                    items.append(try compose())
                }
            case YAML_MAPPING_START_EVENT:
                try plainCollection(stream.event.data.mapping_start.tag, stream.event.data.mapping_start.anchor)
                var pairs: [(Node, Node)] = []
                while true {
                    try advance()
                    if stream.type == YAML_MAPPING_END_EVENT { return .mapping(Node.Mapping(pairs, Tag(.implicit, .basic))) }
                    let key = try compose()
                    try advance()
                    pairs.append((key, try compose()))
                }
            default:
                throw Unsupported()  // an alias
            }
        }

        /// Tags and anchors are left to the slow path (it checks every tag and refuses anchors).
        func plainCollection(_ tag: UnsafeMutablePointer<yaml_char_t>?, _ anchor: UnsafeMutablePointer<yaml_char_t>?) throws {
            guard tag == nil, anchor == nil else { throw Unsupported() }
        }
    }
}

/// Which plain (unquoted, untagged) scalars are certainly strings under Yams' default resolver,
/// decided from their bytes without its regular expressions (and without allocating: this runs
/// for every key and value of every binding).
enum PlainScalar {
    /// The plain words the resolver reads as booleans or null, in lower case; each is also
    /// read so Capitalized and in UPPER case.
    static let words: [[UInt8]] = ["yes", "no", "true", "false", "on", "off", "null"].map { Array($0.utf8) }

    /// The type the default resolver gives a plain scalar, where the text decides it without
    /// the regular expressions: a name or dotted address (str), a boolean or null word, a
    /// decimal integer without a leading zero (int; the int rule comes before float). nil: ask
    /// the resolver.
    static func type(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { b -> String? in
            guard let first = b.first else { return nil }
            if isString(b) == true { return Tag.Name.str.rawValue }
            if isWord(b) { return first | 0x20 == 0x6e && b.count == 4 ? Tag.Name.null.rawValue : Tag.Name.bool.rawValue }
            if b.count == 1 && first == 0x7e { return Tag.Name.null.rawValue }  // ~
            guard first >= 0x31 && first <= 0x39 || b.count == 1 && first == 0x30 else { return nil }
            return b.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? Tag.Name.int.rawValue : nil
        }
    }

    /// true: a string; nil: not decided here (ask the resolver).
    static func isString(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard let first = b.first else { return nil }
        // Every non-string rule (int, float, timestamp, null, merge, value) starts with a digit,
        // a sign, `.`, `~`, `<` or `=`; of the words, only the booleans and nulls are letters.
        if (first >= 0x61 && first <= 0x7a) || (first >= 0x41 && first <= 0x5a) {
            return isWord(b) ? nil : true
        }
        // Dotted quads: digits with two or more dots (a float has at most one; a timestamp a `-`).
        var dots = 0
        for c in b {
            if c == 0x2e { dots += 1 } else if c < 0x30 || c > 0x39 { return nil }
        }
        return dots >= 2 ? true : nil
    }

    static func isWord(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 2, b.count <= 5 else { return false }
        for word in words where word.count == b.count {
            var lower = true, capitalized = true, upper = true
            for i in 0..<b.count {
                let c = b[i], w = word[i]
                lower = lower && c == w
                upper = upper && c == w - 0x20
                capitalized = capitalized && c == (i == 0 ? w - 0x20 : w)
            }
            if lower || capitalized || upper { return true }
        }
        return false
    }
}
