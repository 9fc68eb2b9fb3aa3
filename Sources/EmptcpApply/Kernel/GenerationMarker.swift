/// What emptcp_meta says one generation holds completely (abi.h EMPTCP_META_GEN_REVISION and
/// EMPTCP_META_GEN_DIGEST): the revision and the digest of its content (GenerationDigest).
/// Both are cleared before the generation is written and set after it was written to the end,
/// so a marker that names a revision and a digest proves the generation holds that content, as
/// long as nothing but the applier writes the maps (`apply --verify` and `status` read them all).
struct GenerationMarker: Equatable, Sendable {
    var revision: Int64?
    var digest: UInt64?
}
