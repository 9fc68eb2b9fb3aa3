-- emptcp schema v1: revisions, content stored as intervals, audit, and the views for sqlite3 users.
--
-- Content rows (binding, chain, selector_chain) live from `added_in` (a revision id) until
-- `removed_in` (exclusive; NULL while current). History is linear, so the content of revision R is
-- every row with added_in <= R AND (removed_in IS NULL OR removed_in > R). A commit that changes
-- one binding closes one row and opens one; nothing is copied.

CREATE TABLE revision (
    id            INTEGER PRIMARY KEY,
    -- UNIQUE keeps the history a line: no two revisions can share a parent.
    parent        INTEGER UNIQUE REFERENCES revision(id),
    created_at    INTEGER NOT NULL,                 -- Unix time, milliseconds, UTC
    uid           INTEGER NOT NULL,
    user          TEXT NOT NULL,
    host          TEXT NOT NULL,
    message       TEXT,
    action        TEXT NOT NULL CHECK (action IN ('commit', 'rollback')),
    rollback_to   INTEGER REFERENCES revision(id),  -- the revision a rollback restored
    content_hash  TEXT NOT NULL,                    -- SHA-256 hex of the canonical content
    bindings_sum  TEXT NOT NULL,                    -- order-free sum of binding digests (see ContentHash.swift)
    binding_count INTEGER NOT NULL CHECK (binding_count >= 0),
    CHECK (parent IS NULL OR parent < id)
);

CREATE TABLE selector_chain (
    id         INTEGER PRIMARY KEY,
    hook       TEXT NOT NULL CHECK (hook IN ('xdp', 'tc')),
    steps      TEXT NOT NULL,                       -- canonical JSON array of {name, op}
    added_in   INTEGER NOT NULL REFERENCES revision(id),
    removed_in INTEGER REFERENCES revision(id),
    CHECK (removed_in IS NULL OR removed_in > added_in)
);
CREATE UNIQUE INDEX selector_chain_current ON selector_chain(hook) WHERE removed_in IS NULL;

CREATE TABLE chain (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    actors     TEXT NOT NULL,                       -- canonical JSON array of actor calls
    added_in   INTEGER NOT NULL REFERENCES revision(id),
    removed_in INTEGER REFERENCES revision(id),
    CHECK (removed_in IS NULL OR removed_in > added_in)
);
CREATE UNIQUE INDEX chain_current ON chain(name) WHERE removed_in IS NULL;

CREATE TABLE binding (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,                      -- BindingKey.storageKey: hook, selector, flow key
    hook        TEXT NOT NULL CHECK (hook IN ('xdp', 'tc')),
    selector    TEXT NOT NULL CHECK (selector IN ('tcp', 'tcp2', 'tcp4')),
    local       TEXT,
    local_port  INTEGER CHECK (local_port BETWEEN 0 AND 65535),
    remote      TEXT,
    remote_port INTEGER CHECK (remote_port BETWEEN 0 AND 65535),
    chain       TEXT NOT NULL,
    added_in    INTEGER NOT NULL REFERENCES revision(id),
    removed_in  INTEGER REFERENCES revision(id),
    CHECK (removed_in IS NULL OR removed_in > added_in)
);
-- At most one live binding per key: duplicates are impossible even for a buggy writer.
CREATE UNIQUE INDEX binding_current ON binding(key) WHERE removed_in IS NULL;
-- Rollback finds the rows closed after its target through this index. There is deliberately no
-- index on added_in: it would cost every insert of a large commit, and the queries that filter on
-- added_in (rollback, `policy(at:)`) read most of the table anyway.
CREATE INDEX binding_removed_in ON binding(removed_in) WHERE removed_in IS NOT NULL;

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,                      -- Unix time, milliseconds, UTC
    uid      INTEGER NOT NULL,
    user     TEXT NOT NULL,
    host     TEXT NOT NULL,
    action   TEXT NOT NULL,
    revision INTEGER,                               -- no foreign key: a failed attempt names none or a missing one
    outcome  TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
    detail   TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);

CREATE VIEW revisions AS
SELECT id, parent,
       strftime('%Y-%m-%dT%H:%M:%SZ', created_at / 1000, 'unixepoch') AS time,
       uid, user, host, action, rollback_to, binding_count AS bindings, message, content_hash
FROM revision;

CREATE VIEW audit_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', at / 1000, 'unixepoch') AS time,
       user, action, revision, outcome, detail
FROM audit;

CREATE VIEW bindings_current AS
SELECT hook, selector, local, local_port, remote, remote_port, chain, added_in AS since_revision
FROM binding WHERE removed_in IS NULL;
