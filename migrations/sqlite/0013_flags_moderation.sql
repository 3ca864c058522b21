-- Stuffing flags (domain::flags) are derived answers of the flagged responses (flag.KIND,
-- flag.any, and flagged.Q copies of their answers), counted like the others. The writer looks
-- back over the responses at the same points and officers: these indexes let it.
CREATE INDEX responses_point_time ON responses(point_id, submitted_at);
CREATE INDEX responses_officer_time ON responses(officer_id, submitted_at);

-- The device (address) of an open-QR response, as a keyed hash under its day's salt; salts are
-- dropped after two days, and with them any way to tell which address a hash was.
CREATE TABLE device_salts (
    local_day INTEGER PRIMARY KEY,
    salt      TEXT    NOT NULL
);
CREATE TABLE response_devices (
    response_id INTEGER PRIMARY KEY REFERENCES responses(id),
    local_day   INTEGER NOT NULL,
    device      TEXT    NOT NULL
);
CREATE INDEX response_devices_day ON response_devices(local_day, device);

-- Moderation: a response excluded from the indices, or restored, with a reason, as events that
-- are never changed; each is also a link of the hash chain. `excluded_responses` is the
-- current state the events make, kept in the same transaction (hailong verify replays them).
CREATE TABLE moderation_events (
    id          INTEGER PRIMARY KEY,
    response_id INTEGER NOT NULL REFERENCES responses(id),
    action      TEXT    NOT NULL CHECK (action IN ('exclude', 'restore')),
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX moderation_events_response ON moderation_events(response_id);
CREATE TABLE excluded_responses (
    response_id INTEGER PRIMARY KEY REFERENCES responses(id)
);

CREATE TRIGGER moderation_events_no_delete BEFORE DELETE ON moderation_events
BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END;
CREATE TRIGGER moderation_events_no_update BEFORE UPDATE ON moderation_events
BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END;
CREATE TRIGGER moderation_events_no_replace BEFORE INSERT ON moderation_events
WHEN EXISTS (SELECT 1 FROM moderation_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END;
