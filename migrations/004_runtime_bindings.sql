-- emptcp schema v4: runtime bindings a controller made on the daemon's socket (docs/controllers.md).
-- They are per-connection state, not revisions: a row lives as long as its connection (token)
-- and goes when the connection closes, when its controller unbinds it, or when a revision no
-- longer names its chain. Every change also writes an audit row (action `runtime-bind` /
-- `runtime-unbind`) naming the controller.
CREATE TABLE runtime_binding (
    hook       TEXT NOT NULL CHECK (hook IN ('xdp', 'tc')),
    flow       TEXT NOT NULL,                       -- tcp4 key as the hook sees it: "src:port-dst:port"
    chain      TEXT NOT NULL,                       -- a chain the committed policy names on this hook
    token      INTEGER NOT NULL,                    -- the MPTCP connection it belongs to
    controller TEXT NOT NULL,                       -- the name the controller gave when it connected
    created    INTEGER NOT NULL,                    -- Unix time, milliseconds, UTC
    PRIMARY KEY (hook, flow)
);
CREATE INDEX runtime_binding_token ON runtime_binding(token);
