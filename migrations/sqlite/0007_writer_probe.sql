-- The readiness check commits a write through the same path as the writer: one row it updates.
CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
INSERT INTO writer_probe (id, at) VALUES (1, 0);

-- `INSERT OR REPLACE` / `REPLACE INTO` deletes the row it replaces without firing the delete
-- trigger (unless recursive_triggers is on): an entry's id may never be written twice.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
