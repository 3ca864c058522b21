-- One-off repairs of stored data that a new version needs, each done once per database (the
-- row is written in the transaction of the repair): see src/store/derived.rs.
CREATE TABLE data_fixes (
    name    TEXT   PRIMARY KEY,
    done_at BIGINT NOT NULL
);
