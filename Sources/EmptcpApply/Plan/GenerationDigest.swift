import CLibbpf
import EmptcpStore

/// The 64-bit digest a generation's marker carries (emptcp_meta, EMPTCP_META_GEN_DIGEST + g):
/// it names the map content the applier wrote into that generation. The encoder is pure, so the
/// content is fixed by its inputs — the revision's content (the store's content hash), the
/// operator modules' slots, whether the prefilter is on, and the encoding itself (the ABI
/// version and `encoding` below). The digest is taken over exactly those, so an apply can tell
/// from the marker alone, without reading a policy of 100k bindings or the maps, that a
/// generation already holds what the revision encodes to. Pure; never 0 (0 marks a generation
/// that is being written).
enum GenerationDigest {
    /// Bump whenever the same policy would encode to other map bytes (a layout or encoder change
    /// that keeps EMPTCP_ABI_VERSION), so that markers written before it are not trusted.
    static let encoding = 1

    static func of(contentHash: String, modules: ModuleSlots, prefilter: Bool) -> UInt64 {
        var text = "emptcp-generation abi \(EMPTCP_ABI_VERSION) encoding \(encoding)\n"
        text += "content \(contentHash)\nprefilter \(prefilter ? 1 : 0)\n"
        for hook in Hook.allCases.sorted(by: { $0.rawValue < $1.rawValue }) {
            for (kind, slots) in [("selector", modules.selectors[hook] ?? [:]), ("actor", modules.actors[hook] ?? [:])] {
                for (name, slot) in slots.sorted(by: { $0.key < $1.key }) { text += "module \(hook.rawValue) \(kind) \(name) \(slot)\n" }
            }
        }
        let digest = SHA256.hash(Array(text.utf8))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return value == 0 ? 1 : value
    }
}
