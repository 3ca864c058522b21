-- Dossiers served, per officer and Vietnam day, as the one-stop software reports them (the API
-- POST /api/v1/served, or an import table `served`): reports set rated ÷ served against them.
-- A day reported again replaces what was reported before (a correction).
CREATE TABLE served (
    local_day   INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    officer_id  INTEGER NOT NULL REFERENCES officers(id),
    dossiers    INTEGER NOT NULL CHECK (dossiers >= 0),
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (local_day, officer_id)
);
