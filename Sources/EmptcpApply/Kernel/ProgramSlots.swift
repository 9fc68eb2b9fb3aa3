import CLibbpf
import EmptcpStore

/// The program-array slots emptcp owns: every built-in selector and actor pinned under
/// `progs/<hook>/` in its abi.h slot, every operator module in its recorded slot. `check` reads
/// them against the pins; `repair` writes the slots that differ.
struct ProgramSlots {
    let layout: PinLayout

    /// One slot that does not hold what it should.
    struct Finding: Sendable {
        let hook: Hook
        let array: String
        let slot: UInt32
        /// The pinned program that belongs there (nil: the slot should be empty).
        let expected: String?
        /// Kernel program id of `expected` (nil when its pin is missing).
        let expectedID: UInt32?
        /// Program id the slot holds (nil: empty).
        let actualID: UInt32?
    }

    /// Pin name of each slot emptcp fills, per program array of `hook`.
    func wanted(_ hook: Hook, modules: ModuleSlots) -> [String: [UInt32: String]] {
        var selectors: [UInt32: String] = [:], actions: [UInt32: String] = [:]
        for name in Sys.listDirectory(layout.progDirectory(hook)) {
            if let slot = Loader.selectorSlots[name] { selectors[slot] = name }
            if let slot = Loader.actorSlots[name] { actions[slot] = name }
        }
        for (name, slot) in modules.selectors[hook] ?? [:] { selectors[UInt32(slot)] = "mod_" + name }
        for (name, slot) in modules.actors[hook] ?? [:] { actions[UInt32(slot)] = "mod_" + name }
        return [MapNames.selectors(hook): selectors, MapNames.actions(hook): actions]
    }

    /// Every slot of both hooks' program arrays that differs from the pins.
    func check(modules: ModuleSlots) throws -> [Finding] {
        var findings: [Finding] = []
        for hook in Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
            for (array, slots) in wanted(hook, modules: modules).sorted(by: { $0.key < $1.key }) {
                guard Sys.exists(layout.map(array)) else { continue }
                let map = try PinnedMap(path: layout.map(array), name: array)
                for slot in 0..<UInt32(map.maxEntries) {
                    // A program array reads back the id of the program in the slot.
                    let actual = try map.lookup(MapEncoder.u32(slot)).map { EntryText.u32($0) }
                    let name = slots[slot]
                    let expectedID = try name.flatMap { try programID(hook, $0) }
                    if name == nil && actual == nil { continue }
                    if let expectedID, expectedID == actual { continue }
                    findings.append(Finding(hook: hook, array: array, slot: slot, expected: name, expectedID: expectedID, actualID: actual))
                }
            }
        }
        return findings
    }

    /// Puts the pinned program into each slot of `findings` (or empties a slot nothing belongs
    /// in). A slot whose program is not pinned cannot be repaired here and is left. Returns the
    /// slots written.
    func repair(_ findings: [Finding]) throws -> Int {
        var written = 0
        for finding in findings {
            let map = try PinnedMap(path: layout.map(finding.array), name: finding.array)
            if let name = finding.expected {
                guard Sys.exists(layout.prog(finding.hook, name)) else { continue }
                let program = try Sys.objectGet(layout.prog(finding.hook, name))
                try withExtendedLifetime(program) {
                    try map.update(MapEncoder.u32(finding.slot), MapEncoder.u32(UInt32(bitPattern: program.raw)))
                }
            } else {
                try map.delete(MapEncoder.u32(finding.slot))
            }
            written += 1
        }
        return written
    }

    private func programID(_ hook: Hook, _ name: String) throws -> UInt32? {
        let path = layout.prog(hook, name)
        guard Sys.exists(path) else { return nil }
        let fd = try Sys.objectGet(path)
        return try Sys.programInfo(fd, path).id
    }
}
