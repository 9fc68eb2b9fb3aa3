import EmptcpStore

/// The kernel names emptcp used before every object carried the `emptcp_` prefix (`xdp_entry`,
/// `xdp_selectors`, `tc_chains`, ...; docs/operations.md, "Upgrading from unprefixed names"). A
/// host upgraded from such a build still has them pinned and attached. Its entry programs are
/// still recognised as emptcp's (an orphaned one is replaced, never reported as foreign), and a
/// pin root holding them is refused as a whole: loading next to them would leave the attached
/// entry reading one set of maps while the applier writes another.
enum LegacyNames {
    /// The old name of a hook's entry program.
    static func entry(_ hook: Hook) -> String { "\(hook.rawValue)_entry" }

    /// The old name of a hook's selector program array; every old object declared it.
    static func selectors(_ hook: Hook) -> String { "\(hook.rawValue)_selectors" }

    /// The old-named maps pinned under `layout` (empty for a pin root of this build or none).
    static func pinned(_ layout: PinLayout) -> [String] {
        Hook.allCases.map(selectors).sorted().filter { Sys.exists(layout.map($0)) }
    }

    /// Refuses a pin root that an earlier build loaded, before anything is loaded or written.
    static func refuseOldPins(_ layout: PinLayout) throws {
        let found = pinned(layout)
        guard found.isEmpty else { throw ApplyError.oldPinNames(pinRoot: layout.root, found: found) }
    }
}
