-- Dossiers served, per officer and Vietnam day, as the one-stop software reports them (the API
-- POST /api/v1/served, or an import table `served`): reports set rated ÷ served against them.
-- A day reported again replaces what was reported before (a correction).
CREATE TABLE served (
    local_day   BIGINT  NOT NULL,
    unit_id     BIGINT  NOT NULL REFERENCES units(id),
    officer_id  BIGINT  NOT NULL REFERENCES officers(id),
    dossiers    BIGINT  NOT NULL CHECK (dossiers >= 0),
    reported_at BIGINT  NOT NULL,
    PRIMARY KEY (local_day, officer_id)
);
