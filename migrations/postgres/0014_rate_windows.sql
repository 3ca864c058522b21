-- The abuse limits (ratings per device and collection point per minute, sign-in attempts per
-- device) counted where every instance sees them: one row per keyed hash of (limit, device,
-- point) under the day's salt in `device_salts`, with the window it counts in. Never an
-- address. Unlogged: a count lost in a crash only lets a minute start afresh, and counting
-- writes no WAL. Windows past are deleted by the housekeeping.
CREATE UNLOGGED TABLE rate_windows (
    bucket       TEXT   PRIMARY KEY,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL
);
