/// The two attach points of the data plane: XDP sees packets arriving (ingress), TC sees them
/// leaving (egress). Flow keys are oriented per hook: on XDP `local` is the destination, on TC the
/// source.
public enum Hook: String, Codable, Sendable, CaseIterable, Comparable {
    case xdp
    case tc

    public static func < (a: Hook, b: Hook) -> Bool { a.rawValue < b.rawValue }

    /// The kernel name of this hook's map or program `short`: `emptcp_x_<short>` on XDP,
    /// `emptcp_t_<short>` on TC, at most 15 characters (the kernel's object-name limit;
    /// docs/architecture.md, "Kernel object names").
    public func kernelName(_ short: String) -> String { "emptcp_\(self == .xdp ? "x" : "t")_\(short)" }
}
