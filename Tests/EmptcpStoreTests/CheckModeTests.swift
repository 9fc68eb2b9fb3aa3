import Foundation
import Testing
@testable import EmptcpStore

/// `emptcp check FILE` / `commit --check FILE`, `diff --file`, `diff --exit-code` and the
/// binding-map capacity bound, as real processes on real database files. No pin root exists
/// here, so planned map writes come from the current revision and the kernel is never touched.
@Suite struct CheckModeTests {
    let dir = scratchDir()
    var db: String { dir + "/emptcp.db" }
    var env: [String: String] { ["EMPTCP_DB": db, "EMPTCP_PIN_ROOT": dir + "/pins"] }

    func emptcp(_ args: String...) throws -> (Int32, String, String) {
        try run(emptcpBinary(), args, env: env)
    }

    /// Every file of the database (the main file and any WAL or shared-memory file), byte for byte.
    func databaseBytes() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasPrefix("emptcp.db") {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return files
    }

    @Test func checkPrintsDiffAndPlannedWritesAndWritesNothing() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        #expect(try emptcp("commit", dir + "/p.yaml", "-m", "first").0 == 0)
        let changed = dir + "/p2.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 800"), to: changed)
        let before = try databaseBytes()
        #expect(before["emptcp.db"] != nil)

        let (rc, out, err) = try emptcp("check", changed)
        #expect(rc == 0, "\(err)")
        #expect(out == """
            \(changed): valid, 3 bindings; nothing written
            diff against revision 1:
              ~ chain slow: [set_recv_win: {window: 1600}, rm_add_addr: {}] => [set_recv_win: {window: 800}, rm_add_addr: {}]
            map writes against revision 1's maps: emptcp_x_chains +0 -0 ~1

            """)
        // One implementation: commit --check prints the same.
        let (rc2, out2, _) = try emptcp("commit", "--check", changed)
        #expect(rc2 == 0 && out2 == out)
        // JSON: the plan's per-map counts.
        let (rc3, json, _) = try emptcp("check", changed, "--json")
        let doc = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let plan = doc["plan"] as! [String: Any]
        let counts = (plan["maps"] as! [[String: Any]]).filter { ($0["changed"] as! Int) + ($0["added"] as! Int) + ($0["removed"] as! Int) > 0 }
        #expect(rc3 == 0 && doc["schema"] as? Int == 1 && doc["base"] as? Int == 1 && plan["against"] as? String == "revision")
        #expect(counts.map { $0["map"] as! String } == ["emptcp_x_chains"])
        // A file that fails validation: exit 2, one line, still nothing written (no audit row either).
        let typo = dir + "/typo.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "rm_add_addr: {}", with: "geo_tag: {param: 3}"), to: typo)
        let (rc4, out4, err4) = try emptcp("check", typo)
        #expect(rc4 == 2 && out4.isEmpty)
        #expect(err4.hasPrefix("emptcp check: \(typo):7: chains.slow[1].geo_tag: unknown actor") && err4.filter { $0 == "\n" }.count == 1, "\(err4)")
        #expect(try emptcp("commit", "--check", typo).0 == 2)

        #expect(try databaseBytes() == before)
        // The plain commit of the same file writes, and audits.
        #expect(try emptcp("commit", changed).0 == 0)
        #expect(try databaseBytes() != before)
    }

    @Test func checkWithoutDatabaseCreatesNone() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let (rc, out, _) = try emptcp("check", dir + "/p.yaml")
        #expect(rc == 0 && out.contains("diff against no revision (empty policy):") && out.contains("+ binding xdp tcp2 local=10.0.1.1 remote=10.0.1.2 -> slow"))
        #expect(out.contains("map writes against empty maps: emptcp_x_selchn +0 -0 ~1, emptcp_x_tcp2 +1 -0 ~0, emptcp_x_tcp4 +1 -0 ~0, emptcp_x_chains +1 -0 ~0"), "\(out)")
        #expect(try databaseBytes().isEmpty)
    }

    @Test func checkRefusesConfirmAndMessage() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let (rc, _, err) = try emptcp("commit", "--check", dir + "/p.yaml", "--confirm", "30")
        #expect(rc == 2 && err.contains("--check writes nothing"))
    }

    @Test func bindingMapCapacityIsValidated() throws {
        let limit = Policy.maxBindingsPerMap
        #expect(limit == 131_072)
        try PolicyValidator.validate(bigPolicy(limit), modules: [], file: "full.yaml")
        #expect {
            try PolicyValidator.validate(bigPolicy(limit + 1), modules: [], file: "over.yaml")
        } throws: { error in
            "\(error)" == "over.yaml: bindings: 131073 tcp2 bindings on xdp, the kernel map emptcp_x_tcp2 holds at most 131072"
        }
    }

    @Test func diffExitCodeAndFile() throws {
        write(samplePolicyYAML, to: dir + "/p.yaml")
        let changed = dir + "/p2.yaml"
        write(samplePolicyYAML.replacingOccurrences(of: "window: 1600", with: "window: 800"), to: changed)
        #expect(try emptcp("commit", dir + "/p.yaml").0 == 0)
        #expect(try emptcp("commit", changed).0 == 0)
        // Like git diff --exit-code: 1 when different, 0 when the same; without it, 0 either way.
        #expect(try emptcp("diff", "1", "2", "--exit-code").0 == 1)
        #expect(try emptcp("diff", "2", "--exit-code").0 == 0)
        #expect(try emptcp("diff", "1", "2").0 == 0)
        // A file against the current revision, or against a given one.
        var (rc, out, _) = try emptcp("diff", "--file", changed, "--exit-code")
        #expect(rc == 0 && out == "no differences\n")
        (rc, out, _) = try emptcp("diff", "--file", changed, "1", "--exit-code")
        #expect(rc == 1 && out.hasPrefix("~ chain slow: [set_recv_win: {window: 1600}"))
        (rc, out, _) = try emptcp("diff", "--file", dir + "/p.yaml", "--json")
        let doc = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(rc == 0 && doc["from"] as? Int == 2 && doc["file"] as? String == dir + "/p.yaml" && doc["identical"] as? Bool == false)
        (rc, _, _) = try emptcp("diff", "--file", changed, "1", "2")
        #expect(rc == 2)
    }
}
