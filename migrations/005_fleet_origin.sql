-- emptcp schema v5: revisions that came from a fleet (`emptcp fleet follow`).

-- A local revision committed by the follower records the fleet revision it carries. A revision
-- without a row here was made on this host (a forced local commit while following shows as drift).
CREATE TABLE revision_origin (
    revision       INTEGER PRIMARY KEY REFERENCES revision(id),
    fleet_revision INTEGER NOT NULL,
    fleet_hash     TEXT NOT NULL                    -- the fleet revision's content hash
);

-- Present (one row) while this host follows a fleet: local commits are then refused unless
-- forced. `fleet_revision` is the last fleet revision this host applied; NULL before the first.
CREATE TABLE fleet_follow (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    host_id        TEXT NOT NULL,
    fleet_revision INTEGER,
    fleet_hash     TEXT,
    updated_at     INTEGER NOT NULL                 -- Unix time, milliseconds, UTC
);
