-- The abuse limits counted in the database, for deployments where several instances share it
-- (PostgreSQL): one row per keyed hash of (limit, device, point) under the day's salt in
-- `device_salts`, with the window it counts in. Never an address. A single SQLite server
-- counts in memory and leaves this table empty; it is here so that both schemas stay alike.
CREATE TABLE rate_windows (
    bucket       TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    used         INTEGER NOT NULL
);
