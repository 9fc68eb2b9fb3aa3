import EmptcpApply
import EmptcpStore
import Foundation

/// `emptcp check FILE` and `emptcp commit --check FILE`, one implementation: parse and validate
/// the file as a commit would (module names against the store's modules, the kernel maps'
/// capacity), then print its diff against the current revision and the map writes an apply
/// would make. It writes nothing: no revision, no audit row, no map entry, and no database
/// when there is none yet.
struct PolicyCheck {
    let global: GlobalOptions

    /// The `--json` document of a check.
    struct Report: Encodable {
        var file: String
        var valid: Bool
        /// The revision the file is compared with (nil: no revision yet, compared with the empty policy).
        var base: Int64?
        var identical: Bool
        var diff: PolicyDiff
        var plan: PlannedChanges

        enum CodingKeys: String, CodingKey { case file, valid, base, identical, diff, plan }
    }

    func run(file: String, json: Bool) throws {
        let (policy, sourceMap) = try PolicyFile.load(path: file)
        let session = DataPlaneSession(global: global)
        // No database yet: nothing committed and no modules; the check must not create one.
        let store = FileManager.default.fileExists(atPath: global.db) ? try session.openStore(.existing) : nil
        try PolicyValidator.validate(policy, modules: try store?.modules() ?? [], map: sourceMap)
        let current = try store?.currentRevision()
        let base = try current.map { try store!.policy(at: $0.id) } ?? Policy()
        let diff = PolicyDiff(from: base, to: policy)
        let modules = try store.map(session.moduleSlots) ?? ModuleSlots()
        let plan = try session.applier().plannedChanges(policy: policy, base: base, modules: modules)
        let report = Report(file: file, valid: true, base: current?.id, identical: diff.isEmpty, diff: diff, plan: plan)
        if json { return Console.print(try Console.document(report)) }
        let against = current.map { "revision \($0.id)" } ?? "no revision (empty policy)"
        Console.print("\(file): valid, \(policy.bindings.count) bindings; nothing written")
        Console.print("diff against \(against):")
        Console.print(diff.isEmpty ? "  no differences (a commit would be refused as identical)" : diff.text.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
        let source = plan.against == "kernel" ? "the attached data plane" : current.map { "revision \($0.id)'s maps" } ?? "empty maps"
        Console.print("map writes against \(source): \(plan.summary)")
        if let note = plan.note { Console.warn("emptcp check: \(note)") }
    }
}
