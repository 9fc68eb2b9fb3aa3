import EmptcpStore

/// The writes that bring one generation of the policy maps to a desired state.
struct GenerationPlan: Sendable {
    let generation: UInt8
    var maps: [MapPlan]
    /// Per hook, the prefilter words to write (word index within the generation).
    var prefilter: [Hook: [(word: UInt32, bits: UInt64)]] = [:]

    var isEmpty: Bool { maps.allSatisfy(\.isEmpty) && prefilter.values.allSatisfy(\.isEmpty) }
    var entries: Int { maps.reduce(0) { $0 + $1.add.count + $1.change.count + $1.remove.count } + prefilter.values.reduce(0) { $0 + $1.count } }

    /// - Parameter twin: the map plan of the other generation, when both are known to hold the
    ///   same entries (their markers carry one digest): reused instead of planning again. The
    ///   prefilter words are planned per generation (a key's bit depends on its generation), and
    ///   only when `current` has them (read): otherwise the plan has no prefilter writes.
    init(desired: DesiredState, current: GenerationContents, generation: UInt8, twin: GenerationPlan? = nil) {
        self.generation = generation
        maps = twin?.maps ?? Planner.plan(desired: desired, current: current.maps)
        if desired.prefilterOn, let current = current.prefilter {
            for hook in Hook.allCases {
                prefilter[hook] = Prefilter.writes(desired: desired.prefilter(hook, generation: generation) ?? [:], current: current[hook] ?? [:])
            }
        }
    }
}
