import Foundation
import Logging
import PostgresNIO

/// The fleet database's schema: numbered steps, forward only, each run once in one transaction
/// and recorded in `fleet_schema`. A shipped step is never edited; a change is a new step.
/// `emptcp fleet init` runs them as the database owner (creating roles needs CREATEROLE); the
/// other fleet commands only check the version.
public enum FleetSchema {
    public struct Step: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public static var latestVersion: Int { steps.last?.version ?? 0 }

    public static let steps: [Step] = [
        Step(version: 1, name: "revisions_audit_hosts", sql: #"""
            -- Fleet revisions: the same content model as a host's store (the canonical policy file
            -- as JSON, its content hash computed the same way), kept whole: a fleet has few
            -- revisions and every host reads the newest one in full.
            CREATE TABLE fleet_revision (
                id            bigint PRIMARY KEY,
                parent        bigint UNIQUE REFERENCES fleet_revision(id),
                created_at    timestamptz NOT NULL DEFAULT now(),
                author        text NOT NULL DEFAULT session_user,
                client_host   text NOT NULL,
                message       text,
                action        text NOT NULL CHECK (action IN ('commit', 'rollback')),
                rollback_to   bigint REFERENCES fleet_revision(id),
                content_hash  text NOT NULL,
                binding_count integer NOT NULL CHECK (binding_count >= 0),
                content       text NOT NULL,
                CHECK (parent IS NULL OR parent < id)
            );

            -- Every fleet command and every host's apply outcome.
            CREATE TABLE fleet_audit (
                id          bigserial PRIMARY KEY,
                at          timestamptz NOT NULL DEFAULT now(),
                actor       text NOT NULL DEFAULT session_user,
                client_host text NOT NULL,
                action      text NOT NULL,
                revision    bigint,
                host_id     text,
                outcome     text NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
                detail      text NOT NULL
            );
            CREATE INDEX fleet_audit_at ON fleet_audit(at);

            -- One row per following host, written only through fleet_report() by the role that
            -- created it.
            CREATE TABLE fleet_host (
                host_id        text PRIMARY KEY,
                owner          name NOT NULL,
                labels         jsonb NOT NULL DEFAULT '{}',
                revision       bigint,              -- the fleet revision the host runs
                content_hash   text,                -- the content the host's store holds now
                applied_at     timestamptz,
                in_sync        boolean NOT NULL DEFAULT false,
                last_seen      timestamptz NOT NULL,
                error          text,
                error_revision bigint
            );

            -- Push: followers LISTEN on emptcp_fleet; the payload is the new revision's id.
            CREATE FUNCTION fleet_revision_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('emptcp_fleet', NEW.id::text);
                RETURN NEW;
            END $$;
            CREATE TRIGGER fleet_revision_notify AFTER INSERT ON fleet_revision
                FOR EACH ROW EXECUTE FUNCTION fleet_revision_notify();

            -- A follower's only write: its own host row (claimed by the first role that reports
            -- it), plus an audit row when it applied or failed to apply a revision.
            CREATE FUNCTION fleet_report(
                p_host text, p_labels jsonb, p_revision bigint, p_hash text, p_applied_at timestamptz,
                p_in_sync boolean, p_error text, p_error_revision bigint, p_client_host text,
                p_event text, p_outcome text
            ) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
            BEGIN
                INSERT INTO fleet_host AS h (host_id, owner, labels, revision, content_hash, applied_at, in_sync, last_seen, error, error_revision)
                VALUES (p_host, session_user, p_labels, p_revision, p_hash, p_applied_at, p_in_sync, now(), p_error, p_error_revision)
                ON CONFLICT (host_id) DO UPDATE SET
                    labels = EXCLUDED.labels, revision = EXCLUDED.revision, content_hash = EXCLUDED.content_hash,
                    applied_at = EXCLUDED.applied_at, in_sync = EXCLUDED.in_sync, last_seen = now(),
                    error = EXCLUDED.error, error_revision = EXCLUDED.error_revision
                WHERE h.owner = session_user;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'host % belongs to another role', p_host USING ERRCODE = '42501';
                END IF;
                IF p_event IS NOT NULL THEN
                    INSERT INTO fleet_audit (client_host, action, revision, host_id, outcome, detail)
                    VALUES (p_client_host, 'host-apply', COALESCE(p_error_revision, p_revision), p_host, p_outcome, p_event);
                END IF;
            END $$;
            """#),
        Step(version: 2, name: "roles", sql: #"""
            -- Two group roles; login roles are made members of one (docs/fleet.md, "Roles").
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'emptcp_fleet_writer') THEN
                    CREATE ROLE emptcp_fleet_writer NOLOGIN;
                END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'emptcp_fleet_follower') THEN
                    CREATE ROLE emptcp_fleet_follower NOLOGIN;
                END IF;
            END $$;
            REVOKE ALL ON fleet_revision, fleet_audit, fleet_host, fleet_schema FROM PUBLIC;
            REVOKE ALL ON FUNCTION fleet_report(text, jsonb, bigint, text, timestamptz, boolean, text, bigint, text, text, text) FROM PUBLIC;
            -- The writer: fleet commit / rollback / log / diff / status / wait.
            GRANT SELECT, INSERT ON fleet_revision TO emptcp_fleet_writer;
            GRANT SELECT, INSERT ON fleet_audit TO emptcp_fleet_writer;
            GRANT USAGE ON SEQUENCE fleet_audit_id_seq TO emptcp_fleet_writer;
            GRANT SELECT ON fleet_host, fleet_schema TO emptcp_fleet_writer;
            -- The follower: read revisions, report its own row through fleet_report(), nothing else.
            GRANT SELECT ON fleet_revision, fleet_schema TO emptcp_fleet_follower;
            GRANT EXECUTE ON FUNCTION fleet_report(text, jsonb, bigint, text, timestamptz, boolean, text, bigint, text, text, text) TO emptcp_fleet_follower;
            """#),
    ]

    /// Runs the pending steps (as the database owner). Returns the versions it ran.
    @discardableResult
    public static func migrate(_ conn: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await FleetDatabase.run {
            try await conn.query("CREATE TABLE IF NOT EXISTS fleet_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", logger: logger)
            var ran: [Int] = []
            // One step per transaction, under an advisory lock so two inits do not race.
            for step in steps {
                let did = try await conn.withTransaction(logger: logger) { tx -> Bool in
                    try await tx.query("SELECT pg_advisory_xact_lock(7262347)", logger: logger)
                    let seen = try await current(tx, logger: logger)
                    guard step.version > seen else { return false }
                    for statement in statements(step.sql) {
                        try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await tx.query("INSERT INTO fleet_schema (version, name) VALUES (\(step.version), \(step.name))", logger: logger)
                    return true
                }
                if did { ran.append(step.version) }
            }
            return ran
        }
    }

    /// The statements of a step, one per query (the extended protocol takes one at a time): split
    /// at each `;` that ends a line outside a `$$` body.
    static func statements(_ sql: String) -> [String] {
        var out: [String] = [], current = "", inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                out.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { out.append(current) }
        return out.filter { !$0.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") || $0.trimmingCharacters(in: .whitespaces).isEmpty } }
    }

    /// The schema version of the fleet database (0 before `fleet init`).
    public static func current(_ conn: PostgresConnection, logger: Logger) async throws -> Int {
        let exists = try await conn.query("SELECT to_regclass('fleet_schema') IS NOT NULL", logger: logger)
        for try await (present) in exists.decode(Bool.self) where !present { return 0 }
        let rows = try await conn.query("SELECT COALESCE(max(version), 0)::int8 FROM fleet_schema", logger: logger)
        for try await v in rows.decode(Int64.self) { return Int(v) }
        return 0
    }

    /// Refuses a database whose schema is not this binary's.
    public static func require(_ conn: PostgresConnection, logger: Logger) async throws {
        let found = try await FleetDatabase.run { try await current(conn, logger: logger) }
        if found < latestVersion { throw FleetError.schemaBehind(found: found, needed: latestVersion) }
        if found > latestVersion { throw FleetError.schemaTooNew(found: found, supported: latestVersion) }
    }
}
