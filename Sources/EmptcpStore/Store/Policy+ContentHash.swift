extension Policy {
    /// The content hash a revision with this content carries (ContentHash.swift): the fleet stores
    /// the same hash for its revisions, so a host can tell whether it runs a fleet revision's content.
    public var contentHash: String { ContentHash.of(self).hash }
}
