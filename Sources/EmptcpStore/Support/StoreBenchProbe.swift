/// Internal pieces exposed for `emptcp-bench store` only, to show where commit time goes.
public enum StoreBenchProbe {
    public static func hash(_ p: Policy) -> String { ContentHash.of(p).hash }
}
