import Foundation
import Testing
@testable import EmptcpStore

@Suite struct MigrationTests {
    /// migrations/*.sql is the source; the binary carries a generated copy that must not drift.
    @Test func embeddedMigrationsMatchTheFiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == Migrations.embedded.count, "run scripts/embed-migrations.sh")
        for (file, m) in zip(files, Migrations.embedded) {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            #expect(file == String(format: "%03d_%@.sql", m.version, m.name))
            #expect(text.trimmingCharacters(in: .newlines) == m.sql.trimmingCharacters(in: .newlines), "\(file) changed: run scripts/embed-migrations.sh")
        }
        #expect(Migrations.embedded.map(\.version) == Array(1...Migrations.embedded.count))
    }

    /// A database written at schema 1 (before confirmations, modules, attachments) opens, migrates
    /// and keeps its history.
    @Test func migratesFromSchemaOne() throws {
        let path = scratchDir() + "/old.db"
        do {
            _ = try PolicyStore(path: path, busyTimeout: 5, schemaVersion: 1)
            // Write history the way a schema-1 emptcp did: plain SQL on the v1 tables.
            let db = try Database(path: path, busyTimeoutMs: 1000)
            let p = try parse(samplePolicyYAML)
            let (hash, sum) = ContentHash.of(p)
            try db.execute("""
                INSERT INTO revision (id, parent, created_at, uid, user, host, message, action, content_hash, bindings_sum, binding_count)
                VALUES (1, NULL, 1700000000000, 0, 'root', 'old', 'from v1', 'commit', '\(hash)', '\(sum.hex)', 3);
                INSERT INTO selector_chain (hook, steps, added_in) VALUES ('xdp', '[{"tcp4":"or"},{"tcp2":"or"}]', 1), ('tc', '[{"tcp2":"or"}]', 1);
                INSERT INTO chain (name, actors, added_in) VALUES
                  ('slow', '[{"set_recv_win":{"window":1600}},{"rm_add_addr":{}}]', 1), ('backup', '[{"set_flow_prio":{"backup":true}}]', 1);
                """)
            for b in p.bindings {
                try db.execute("""
                    INSERT INTO binding (key, hook, selector, local, local_port, remote, remote_port, chain, added_in) VALUES
                    ('\(b.key.storageKey)', '\(b.key.hook.rawValue)', '\(b.key.selector.rawValue)', '\(b.key.local!)', \(b.key.localPort.map(String.init) ?? "NULL"),
                     '\(b.key.remote!)', \(b.key.remotePort.map(String.init) ?? "NULL"), '\(b.chain)', 1)
                    """)
            }
            #expect(try db.scalarInt("PRAGMA user_version") == 1)
            #expect(try db.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'pending_confirm'") == 0)
        }
        let store = try PolicyStore(path: path)
        #expect(try store.schemaVersion() == Migrations.latestVersion)
        #expect(try store.policy(at: 1).canonical == (try parse(samplePolicyYAML)).canonical)
        #expect(try store.revision(1).message == "from v1")
        // The migrated database takes the features of schema 2.
        #expect(throws: StoreError.identical(revision: 1)) { try store.commit(try parse(samplePolicyYAML), message: nil) }
        let r2 = try store.commit(bigPolicy(3), message: "on v2", confirmWithin: 600)
        #expect(try store.pendingConfirmation()?.revision == r2.id)
        try store.addModule(ModuleRecord(name: "m", hook: .tc, kind: .actor, objectPath: "/m.o", slot: 20))
    }
}
