-- emptcp schema v2: commit confirmation, operator modules, and attachments for boot restore.

-- A commit made with `--confirm SECONDS` waits here until `emptcp confirm`. Past its deadline,
-- the next store open (or the timer process the CLI spawns) rolls back to `previous`.
CREATE TABLE pending_confirm (
    revision INTEGER PRIMARY KEY REFERENCES revision(id),
    previous INTEGER REFERENCES revision(id),      -- NULL when the pending commit was the first one
    deadline INTEGER NOT NULL                       -- Unix time, milliseconds, UTC
);

-- Operator modules (`emptcp module add`): programs in free slots of a hook's program arrays.
CREATE TABLE module (
    name        TEXT PRIMARY KEY,
    hook        TEXT NOT NULL CHECK (hook IN ('xdp', 'tc')),
    kind        TEXT NOT NULL CHECK (kind IN ('selector', 'actor')),
    object_path TEXT NOT NULL,
    slot        INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 31),
    added_at    INTEGER NOT NULL,
    UNIQUE (hook, kind, slot)
);

-- Where the applier attached our programs, so `emptcp apply --boot` can restore them.
CREATE TABLE attachment (
    iface       TEXT NOT NULL,
    hook        TEXT NOT NULL CHECK (hook IN ('xdp', 'tc')),
    mode        TEXT NOT NULL,
    pin_root    TEXT NOT NULL,
    attached_at INTEGER NOT NULL,
    PRIMARY KEY (iface, hook)
);

CREATE VIEW pending_confirmation AS
SELECT revision, previous, strftime('%Y-%m-%dT%H:%M:%SZ', deadline / 1000, 'unixepoch') AS deadline
FROM pending_confirm;
