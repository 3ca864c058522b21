-- Flags are chained: each time the writer flags a response (at its commit, or later when a
-- burst it belongs to is seen), the kinds it gave are an event, never changed, and a link of
-- the hash chain; hailong verify checks that a response's flag answers are the union of its
-- events. (The device hashes the flags came from are forgotten after a day, so flags cannot be
-- recomputed later.) The chain's links take the new kind: SQLite cannot change a CHECK in
-- place, so the table is made anew, with its guards.
DROP TRIGGER chain_links_no_delete;
DROP TRIGGER chain_links_no_update;
DROP TRIGGER chain_links_no_replace;
CREATE TABLE chain_links_new (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL CHECK (kind IN ('response', 'event', 'flags')),
    record_id INTEGER NOT NULL,
    erasable  TEXT    NOT NULL,
    hash      TEXT    NOT NULL,
    UNIQUE (kind, record_id)
);
INSERT INTO chain_links_new (seq, kind, record_id, erasable, hash)
SELECT seq, kind, record_id, erasable, hash FROM chain_links ORDER BY seq;
DROP TABLE chain_links;
ALTER TABLE chain_links_new RENAME TO chain_links;
CREATE TRIGGER chain_links_no_delete BEFORE DELETE ON chain_links
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;
CREATE TRIGGER chain_links_no_update BEFORE UPDATE ON chain_links
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;
CREATE TRIGGER chain_links_no_replace BEFORE INSERT ON chain_links
WHEN EXISTS (SELECT 1 FROM chain_links WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;

CREATE TABLE flag_events (
    id          INTEGER PRIMARY KEY,
    response_id INTEGER NOT NULL REFERENCES responses(id),
    kinds       TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX flag_events_response ON flag_events(response_id);
CREATE TRIGGER flag_events_no_delete BEFORE DELETE ON flag_events
BEGIN SELECT RAISE(ABORT, 'flag events are append-only'); END;
CREATE TRIGGER flag_events_no_update BEFORE UPDATE ON flag_events
BEGIN SELECT RAISE(ABORT, 'flag events are append-only'); END;
CREATE TRIGGER flag_events_no_replace BEFORE INSERT ON flag_events
WHEN EXISTS (SELECT 1 FROM flag_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'flag events are append-only'); END;
