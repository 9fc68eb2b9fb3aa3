import CLibbpf
import EmptcpStore

/// The two generations of the policy maps (abi.h): where a generation lives in each map's keys.
/// The encoder and the planner work on generation-0 ("neutral") keys; these functions move a
/// key into a generation and back. Pure.
enum Generation {
    static let count = Int(EMPTCP_GENERATIONS)
    /// EMPTCP_PREFILTER_WORDS (a shifted constant, which Swift does not import).
    static let prefilterWords = UInt32(1) << (UInt32(EMPTCP_PREFILTER_BITS_LOG) - 6)

    /// The other generation.
    static func other(_ generation: UInt8) -> UInt8 { generation ^ 1 }

    /// Byte of a hash map key that holds the generation; nil for the arrays, which are indexed by it.
    static func keyByte(_ kind: MapID.Kind) -> Int? {
        switch kind {
        case .tcp2: MemoryLayout<emptcp_tcp2_key>.offset(of: \.gen)!
        case .tcp4: MemoryLayout<emptcp_tcp4_key>.offset(of: \.gen)!
        case .selectorChain, .tcpDefault, .chains: nil
        }
    }

    /// EMPTCP_CHAIN_SLOTS: entries of one generation in `emptcp_<h>_chains`.
    static let chainSlots = UInt32(EMPTCP_CHAIN_SLOTS)

    /// The key of `neutral` in `generation`.
    static func key(_ neutral: MapKey, _ kind: MapID.Kind, _ generation: UInt8) -> MapKey {
        if kind == .chains { return MapKey(MapEncoder.u32(UInt32(generation) * chainSlots + EntryText.u32(neutral.bytes))) }
        guard let at = keyByte(kind) else { return MapKey(MapEncoder.u32(UInt32(generation))) }
        return neutral.setting(byte: at, to: generation)
    }

    /// A key's generation and its neutral form (`emptcp_<h>_chains`: the index within the
    /// generation). Hash map generations other than 0 and 1 are returned as they are (nothing
    /// reads them; the planner removes them).
    static func split(_ key: MapKey, _ kind: MapID.Kind) -> (generation: UInt8, neutral: MapKey) {
        if kind == .chains {
            let index = EntryText.u32(key.bytes)
            return (UInt8(clamping: index / chainSlots), MapEncoder.chainKey(index % chainSlots))
        }
        guard let at = keyByte(kind), at < key.count else { return (0, key) }
        return (key.byte(at: at), key.setting(byte: at, to: 0))
    }

    /// Index of prefilter word `word` of `generation` in `emptcp_<h>_prefil`.
    static func prefilterIndex(_ word: UInt32, _ generation: UInt8) -> UInt32 {
        UInt32(generation) * prefilterWords + word
    }
}

/// What one generation of the policy maps holds (neutral keys), per map, and its prefilter words
/// (nil: not read).
struct GenerationContents: Sendable {
    var maps: [MapID: [MapKey: Bytes]] = [:]
    var prefilter: [Hook: PrefilterWords]?
}
