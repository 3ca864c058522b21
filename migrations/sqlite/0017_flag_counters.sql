-- The stuffing flags' counters (rules flags-2026-2): the writer reads and moves one row per
-- window step, day, run or device instead of reading the last responses back, so a rating
-- costs the same whatever the thresholds. Working state, not evidence: the flags themselves are
-- chained as flag events. Steps and device days are forgotten after a day with the device
-- hashes; a point's and an officer's days are kept for the history their thresholds are judged on.
CREATE TABLE flag_tallies (
    scope   TEXT    NOT NULL CHECK (scope IN ('point-step', 'officer-step', 'point-day', 'officer-day')),
    subject INTEGER NOT NULL,
    slot    INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (scope, subject, slot)
);
CREATE TABLE flag_runs (
    scope   TEXT    NOT NULL,
    subject INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE TABLE flag_device_days (
    point_id  INTEGER NOT NULL,
    device    TEXT    NOT NULL,
    local_day INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (point_id, device, local_day)
);
CREATE INDEX flag_device_days_day ON flag_device_days(local_day, device);
CREATE TABLE flag_streaks (
    point_id INTEGER PRIMARY KEY,
    answers  TEXT    NOT NULL,
    length   INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
);
