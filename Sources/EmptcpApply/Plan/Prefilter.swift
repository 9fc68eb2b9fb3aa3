import CLibbpf
import EmptcpStore

/// Contents of one `emptcp_<h>_prefil` map: word index → its 64 bits; zero words are left out.
typealias PrefilterWords = [UInt32: UInt64]

/// The binding prefilter (abi.h, docs/sdk.md "The binding prefilter"): a 2^20-bit set per hook
/// and generation holding the bit of every tcp2/tcp4 binding key of that generation (the key's
/// generation byte is hashed too; the encoder computes each generation's words). Pure: no
/// kernel access.
package enum Prefilter {
    static func mapName(_ hook: Hook) -> String { MapNames.prefilter(hook) }

    /// The bit of an encoded tcp2/tcp4 key, as the data path computes it (`Sys.prefilterBit`).
    package static func bit(_ key: MapKey) -> UInt32 {
        key.withBytes { Sys.prefilterBit($0) }
    }

    /// The words holding the bits of `keys`.
    static func words<S: Sequence>(of keys: S) -> PrefilterWords where S.Element == MapKey {
        var set = BitSet()
        for key in keys { set.insert(key) }
        return set.words
    }

    /// One generation's bits while they are being collected: a flat array of every word (128 KiB),
    /// cheaper than a dictionary update per key at 100k keys.
    struct BitSet {
        private var flat = [UInt64](repeating: 0, count: Int(Generation.prefilterWords))

        mutating func insert(_ key: MapKey) {
            let bit = Prefilter.bit(key)
            flat[Int(bit >> 6)] |= 1 << UInt64(bit & 63)
        }

        /// The nonzero words.
        var words: PrefilterWords {
            var words = PrefilterWords()
            for (index, bits) in flat.enumerated() where bits != 0 { words[UInt32(index)] = bits }
            return words
        }
    }

    /// The words to write so that one generation's prefilter holds exactly `desired`: every
    /// word whose value differs (zero where `desired` has none). The generation written is not
    /// live (docs/architecture.md "Atomic switch"), so no ordering against the bindings is
    /// needed; a word already right is not written, so a second apply writes nothing.
    static func writes(desired: PrefilterWords, current: PrefilterWords) -> [(word: UInt32, bits: UInt64)] {
        var result: [(word: UInt32, bits: UInt64)] = []
        for word in Set(desired.keys).union(current.keys) {
            let wanted = desired[word] ?? 0
            if (current[word] ?? 0) != wanted { result.append((word, wanted)) }
        }
        return result.sorted { $0.word < $1.word }
    }

    /// Words of `current` that lack a bit of `desired` (a binding the data path could miss).
    static func missing(desired: PrefilterWords, current: PrefilterWords) -> [(word: UInt32, expected: UInt64, actual: UInt64)] {
        desired.compactMap { word, bits in
            let now = current[word] ?? 0
            return now & bits == bits ? nil : (word, bits, now)
        }.sorted { $0.word < $1.word }
    }
}
