-- emptcp schema v3: the daemon's runtime state (`emptcp daemon run`), kept here so that a crash
-- or SIGKILL of the daemon loses nothing: live connections it tracks, ADD_ADDR options the data
-- plane removed, and the live repairs an apply asked for. Rows describe kernel state of one
-- network namespace (the daemon's); they are rebuilt from the kernel when the daemon starts.

-- MPTCP connections seen alive, by the path manager's token (local side).
CREATE TABLE runtime_connection (
    token      INTEGER PRIMARY KEY,
    first_seen INTEGER NOT NULL                     -- Unix time, milliseconds, UTC
);

-- Their subflows, from our side: "local:port-remote:port" (IPv6 in brackets).
CREATE TABLE runtime_subflow (
    subflow TEXT PRIMARY KEY,
    token   INTEGER NOT NULL REFERENCES runtime_connection(token) ON DELETE CASCADE
);
CREATE INDEX runtime_subflow_token ON runtime_subflow(token);

-- ADD_ADDR options removed by `rm_add_addr` on XDP, byte for byte (hex, from the kind byte):
-- an ADD_ADDR carries an HMAC, so it can only be replayed. Retransmissions are one row.
CREATE TABLE runtime_removed_add_addr (
    subflow TEXT NOT NULL,                          -- the subflow it arrived on, from our side
    option  TEXT NOT NULL,
    seen    INTEGER NOT NULL,                       -- Unix time, milliseconds, UTC
    PRIMARY KEY (subflow, option)
);

-- What an apply undid on live connections, for the daemon to repair: re-deliver removed
-- ADD_ADDRs, or clear a backup mark our XDP made the stack take. `match` is the binding key
-- (JSON) whose change caused it.
CREATE TABLE runtime_work (
    id       INTEGER PRIMARY KEY,
    created  INTEGER NOT NULL,                      -- Unix time, milliseconds, UTC
    revision INTEGER,
    kind     TEXT NOT NULL CHECK (kind IN ('redeliver-add-addr', 'clear-backup')),
    match    TEXT NOT NULL,
    state    TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'superseded')),
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runtime_work_pending ON runtime_work(state) WHERE state = 'pending';
