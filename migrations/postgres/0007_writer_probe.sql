-- The readiness check commits a write through the same path as the writer: one row it updates.
CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT  NOT NULL
);
INSERT INTO writer_probe (id, at) VALUES (1, 0);

-- TRUNCATE fires no row trigger: refuse it with a statement trigger. (`INSERT ... ON CONFLICT
-- DO UPDATE` fires the update trigger, and is refused already.)
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
