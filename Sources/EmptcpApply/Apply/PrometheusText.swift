/// A writer of the Prometheus text exposition format (version 0.0.4), the format node_exporter's
/// textfile collector and every Prometheus scraper read: per metric family one `# HELP` and one
/// `# TYPE` line, then its samples `name{label="value",...} number`.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge
    }

    public struct Sample: Sendable {
        public var labels: [(name: String, value: String)]
        public var value: String

        public init(_ labels: [(name: String, value: String)] = [], _ value: UInt64) {
            self.labels = labels
            self.value = String(value)
        }

        public init(_ labels: [(name: String, value: String)] = [], _ value: Int64) {
            self.labels = labels
            self.value = String(value)
        }

        public init(_ labels: [(name: String, value: String)] = [], _ value: Bool) {
            self.init(labels, UInt64(value ? 1 : 0))
        }
    }

    public private(set) var text = ""
    private var families: Set<String> = []

    public init() {}

    /// Appends one family. A family appears once (a second call with the same name is a
    /// programming error); counters are named with `_total` by convention, which the caller spells.
    public mutating func family(_ name: String, _ kind: Kind, help: String, _ samples: [Sample]) {
        precondition(Self.isValidName(name), "invalid metric name \(name)")
        precondition(families.insert(name).inserted, "metric family \(name) written twice")
        text += "# HELP \(name) \(Self.escapeHelp(help))\n"
        text += "# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            text += name
            if !sample.labels.isEmpty {
                text += "{" + sample.labels.map { label in
                    precondition(Self.isValidName(label.name) && !label.name.contains(":"), "invalid label name \(label.name)")
                    return "\(label.name)=\"\(Self.escapeLabelValue(label.value))\""
                }.joined(separator: ",") + "}"
            }
            text += " \(sample.value)\n"
        }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValidName(_ name: String) -> Bool {
        let scalars = name.unicodeScalars
        guard let first = scalars.first, !("0"..."9").contains(first) else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == ":" }
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed (a double quote stays as it is).
    static func escapeHelp(_ help: String) -> String {
        var out = ""
        for c in help {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
