-- Staff accounts, their sessions and API keys, and the append-only audit log.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    role                TEXT    NOT NULL,
    unit_id             INTEGER REFERENCES units(id),
    password_hash       TEXT,
    totp_secret         TEXT,
    totp_last_step      INTEGER,
    created_at          INTEGER NOT NULL,
    disabled_at         INTEGER,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER
);

-- A session is known by the SHA-256 of its cookie; the cookie itself is never stored.
-- stage 'second-factor': the password was right, the one-time code is still to come
-- (pending_secret: the secret being enrolled, if the account has none yet).
CREATE TABLE sessions (
    token_hash     TEXT    PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    stage          TEXT    NOT NULL DEFAULT 'full',
    pending_secret TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
