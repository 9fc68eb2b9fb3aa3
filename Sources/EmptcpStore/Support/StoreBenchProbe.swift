/// Internal pieces exposed for `emptcp-bench store` only, to show where commit time goes.
public enum StoreBenchProbe {
    public static func hash(_ p: Policy) -> String { ContentHash.of(p).hash }

    /// The node-tree parse alone (what every file took before the event fast path).
    public static func parseTree(_ text: String) throws -> Policy { try PolicyFile.parseTree(text, file: "bench").0 }
}
