import Foundation
import EmptcpStore
import Testing
@testable import EmptcpApply

/// Loading onto an empty pin root: the entry objects create and pin the maps first (loaded with
/// no program), then every object loads side by side. Each loaded program must use the pinned
/// maps themselves, never a copy an object created for itself while another was pinning.
@Suite(.serialized) struct ObjectLoadingTests {
    @Test func objectsLoadedSideBySideUseThePinnedMaps() throws {
        let fx = try ApplierFixture("load")
        defer { fx.cleanup() }
        try fx.inNetns {
            _ = try fx.applier.attach(interface: "a0")
            let layout = fx.applier.layout
            var pinned: [String: Int] = [:]
            for name in Sys.listDirectory(layout.maps) {
                pinned[name] = try #require(try json(fx.sh("bpftool -j map show pinned \(layout.map(name))"))["id"] as? Int)
            }
            #expect(pinned[MapNames.meta] != nil)
            // Every map of the machine by id (the programs' map ids name them).
            let all = try #require(try JSONSerialization.jsonObject(with: Data(fx.sh("bpftool -j map show").utf8)) as? [[String: Any]])
            let names = Dictionary(all.compactMap { map in (map["id"] as? Int).map { ($0, map["name"] as? String ?? "") } }, uniquingKeysWith: { a, _ in a })

            var programs = 0
            for hook in Hook.allCases {
                let loaded = Sys.listDirectory(layout.progDirectory(hook))
                #expect(loaded.contains(Loader.entry))
                for program in loaded {
                    programs += 1
                    let info = try json(fx.sh("bpftool -j prog show pinned \(layout.prog(hook, program))"))
                    let used = info["map_ids"] as? [Int] ?? []
                    #expect(!used.isEmpty, "\(hook.rawValue)/\(program) uses no map")
                    for id in used {
                        guard let name = names[id], let pinnedID = pinned[name] else { continue }
                        #expect(id == pinnedID, "\(hook.rawValue)/\(program) uses its own \(name) (id \(id)), not the pinned one (id \(pinnedID))")
                    }
                }
            }
            // attach loads every built-in object of both hooks.
            let built = try Hook.allCases.map { try Loader(layout: layout, bpfDir: fx.bpfDir, logDirectory: NSTemporaryDirectory(), logger: fx.logger).objectNames($0).count }
            #expect(programs == built.reduce(0, +))
        }
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
