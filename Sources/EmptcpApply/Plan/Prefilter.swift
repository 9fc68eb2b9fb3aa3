import CLibbpf
import EmptcpStore

/// Contents of one `<hook>_prefilter` map: word index → its 64 bits; zero words are left out.
typealias PrefilterWords = [UInt32: UInt64]

/// The binding prefilter (abi.h, docs/sdk.md "The binding prefilter"): a 2^20-bit set
/// per hook holding the bit of every tcp2/tcp4 binding key. Pure: no kernel access.
package enum Prefilter {
    static func mapName(_ hook: Hook) -> String { "\(hook.rawValue)_prefilter" }

    /// The bit of an encoded tcp2/tcp4 key, as the data path computes it (`Sys.prefilterBit`).
    package static func bit(_ key: MapKey) -> UInt32 {
        key.withBytes { Sys.prefilterBit($0) }
    }

    /// The words holding the bits of `keys`.
    static func words<S: Sequence>(of keys: S) -> PrefilterWords where S.Element == MapKey {
        var words: PrefilterWords = [:]
        for key in keys {
            let bit = bit(key)
            words[bit >> 6, default: 0] |= 1 << UInt64(bit & 63)
        }
        return words
    }

    /// The writes of one hook's prefilter, in two phases around the binding writes.
    ///
    /// Ordering (the data path never misses a binding because of the prefilter): `raise` is
    /// written before any binding, chain or selector chain, and sets, on top of what the map
    /// holds, the bits of every key the hash maps hold now or will hold after this apply; so
    /// from then on every visible key has its bit, whichever the flag. `settle` is written last,
    /// after the stale bindings are deleted, and leaves the words exactly as the desired keys
    /// need them: the bits of removed bindings (and any foreign bit) are cleared only once no
    /// such key is visible. A word whose value is already right is not written: a second apply
    /// writes nothing.
    struct Plan: Sendable, Equatable {
        var raise: [(word: UInt32, bits: UInt64)] = []
        var settle: [(word: UInt32, bits: UInt64)] = []

        /// Distinct words written.
        var wordsChanged: Int { Set(raise.map(\.word) + settle.map(\.word)).count }

        static func == (a: Plan, b: Plan) -> Bool {
            a.raise.map(\.word) == b.raise.map(\.word) && a.raise.map(\.bits) == b.raise.map(\.bits)
                && a.settle.map(\.word) == b.settle.map(\.word) && a.settle.map(\.bits) == b.settle.map(\.bits)
        }
    }

    /// - Parameters:
    ///   - desired: the words of the keys the hook's tcp2/tcp4 maps must hold.
    ///   - present: the words of the keys those maps hold now.
    ///   - current: what the prefilter map holds now.
    static func plan(desired: PrefilterWords, present: PrefilterWords, current: PrefilterWords) -> Plan {
        var plan = Plan()
        var raised = current
        var needed = desired
        needed.merge(present) { $0 | $1 }
        for (word, bits) in needed {
            let now = current[word] ?? 0
            if now & bits != bits {
                raised[word] = now | bits
                plan.raise.append((word, now | bits))
            }
        }
        for word in Set(raised.keys).union(desired.keys) {
            let final = desired[word] ?? 0
            if (raised[word] ?? 0) != final { plan.settle.append((word, final)) }
        }
        plan.raise.sort { $0.word < $1.word }
        plan.settle.sort { $0.word < $1.word }
        return plan
    }

    /// Words of `current` that lack a bit of `desired` (a binding the data path could miss).
    static func missing(desired: PrefilterWords, current: PrefilterWords) -> [(word: UInt32, expected: UInt64, actual: UInt64)] {
        desired.compactMap { word, bits in
            let now = current[word] ?? 0
            return now & bits == bits ? nil : (word, bits, now)
        }.sorted { $0.word < $1.word }
    }
}
