/// The two attach points of the data plane: XDP sees packets arriving (ingress), TC sees them
/// leaving (egress). Flow keys are oriented per hook: on XDP `local` is the destination, on TC the
/// source.
public enum Hook: String, Codable, Sendable, CaseIterable, Comparable {
    case xdp
    case tc

    public static func < (a: Hook, b: Hook) -> Bool { a.rawValue < b.rawValue }
}
