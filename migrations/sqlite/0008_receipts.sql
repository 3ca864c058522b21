-- Receipt tokens (one dossier, one rating). Keys shared with the one-stop software: `offline`
-- keys sign the tokens it makes itself; the one `online` key signs those this server makes for
-- POST /api/v1/receipts. Secrets are URL-safe base64; a revoked key signs nothing that rates.
CREATE TABLE receipt_keys (
    id         INTEGER PRIMARY KEY,
    secret     TEXT    NOT NULL,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('offline', 'online')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
-- A receipt used to rate: its identity (a keyed hash, see domain::receipt::receipt_id) once,
-- with the one-time key of the form that used it, so that the same form sent again is known.
CREATE TABLE receipt_uses (
    receipt         TEXT    PRIMARY KEY,
    idempotency_key TEXT    NOT NULL,
    used_at         INTEGER NOT NULL
);
-- Tokens made online, by receipt: the same dossier asked for again gets the same token.
CREATE TABLE receipt_issues (
    receipt    TEXT    PRIMARY KEY,
    token      TEXT    NOT NULL,
    field_code TEXT,
    procedure  TEXT,
    created_at INTEGER NOT NULL
);
