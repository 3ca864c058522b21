-- The logical schema, SQLite flavour. migrations/postgres holds the same tables.
-- Dates (validity) are ISO 'YYYY-MM-DD' text; instants are Unix milliseconds (UTC);
-- local_day is the Vietnam date as the integer YYYYMMDD.

CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    code         TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    parent_id    INTEGER REFERENCES units(id),
    valid_from   TEXT    NOT NULL,
    valid_to     TEXT,
    successor_id INTEGER REFERENCES units(id)
);
CREATE INDEX units_parent ON units(parent_id);

CREATE TABLE desks (
    id      INTEGER PRIMARY KEY,
    code    TEXT    NOT NULL UNIQUE,
    name    TEXT    NOT NULL,
    unit_id INTEGER NOT NULL REFERENCES units(id)
);
CREATE INDEX desks_unit ON desks(unit_id);

CREATE TABLE officers (
    id        INTEGER PRIMARY KEY,
    code      TEXT    NOT NULL UNIQUE,
    full_name TEXT    NOT NULL
);

CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    desk_id    INTEGER REFERENCES desks(id),
    valid_from TEXT    NOT NULL,
    valid_to   TEXT,
    UNIQUE (officer_id, valid_from)
);

CREATE TABLE fields (
    id   INTEGER PRIMARY KEY,
    code TEXT    NOT NULL UNIQUE,
    name TEXT    NOT NULL
);

CREATE TABLE questionnaires (
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    digest     TEXT    NOT NULL,
    definition TEXT    NOT NULL,
    loaded_at  INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE collection_points (
    id               INTEGER PRIMARY KEY,
    slug             TEXT    NOT NULL UNIQUE,
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    desk_id          INTEGER REFERENCES desks(id),
    officer_id       INTEGER REFERENCES officers(id),
    questionnaire_id TEXT    NOT NULL,
    label            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    revoked_at       INTEGER,
    replaced_by      INTEGER REFERENCES collection_points(id)
);
CREATE INDEX collection_points_unit ON collection_points(unit_id);

CREATE TABLE responses (
    id                    INTEGER PRIMARY KEY,
    idempotency_key       TEXT    NOT NULL UNIQUE,
    point_id              INTEGER NOT NULL REFERENCES collection_points(id),
    unit_id               INTEGER NOT NULL REFERENCES units(id),
    desk_id               INTEGER REFERENCES desks(id),
    officer_id            INTEGER REFERENCES officers(id),
    field_id              INTEGER REFERENCES fields(id),
    questionnaire_id      TEXT    NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    channel               TEXT    NOT NULL,
    submitted_at          INTEGER NOT NULL,
    local_day             INTEGER NOT NULL,
    comment               TEXT,
    FOREIGN KEY (questionnaire_id, questionnaire_version) REFERENCES questionnaires(id, version)
);
-- Reports read per-period counts, not raw responses; every index here is paid on each rating.
CREATE INDEX responses_day ON responses(local_day);

CREATE TABLE answers (
    response_id INTEGER NOT NULL REFERENCES responses(id),
    question_id TEXT    NOT NULL,
    value       INTEGER NOT NULL,
    PRIMARY KEY (response_id, question_id)
) WITHOUT ROWID;
