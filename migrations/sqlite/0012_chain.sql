-- The hash chain over what was collected (domain::chain): one link per stored response (and,
-- later, per moderation event), in the order the writer appended them. `erasable` is the hash
-- of what the retention purge may erase (the comment), so that the purge leaves the chain
-- verifiable. The head is one row: appending reads and moves it in the writer's transaction.
CREATE TABLE chain_links (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL CHECK (kind IN ('response', 'event')),
    record_id INTEGER NOT NULL,
    erasable  TEXT    NOT NULL,
    hash      TEXT    NOT NULL,
    UNIQUE (kind, record_id)
);
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints of the head (domain::chain::Checkpoint), as the service made them; the
-- copies that count are the files kept elsewhere.
CREATE TABLE checkpoints (
    id        INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL,
    head      TEXT    NOT NULL,
    made_at   INTEGER NOT NULL,
    body      TEXT    NOT NULL
);

CREATE TRIGGER chain_links_no_delete BEFORE DELETE ON chain_links
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;
CREATE TRIGGER chain_links_no_update BEFORE UPDATE ON chain_links
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;
CREATE TRIGGER chain_links_no_replace BEFORE INSERT ON chain_links
WHEN EXISTS (SELECT 1 FROM chain_links WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END;
CREATE TRIGGER chain_head_forward BEFORE UPDATE ON chain_head
WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'the chain head only moves forward'); END;
CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
BEGIN SELECT RAISE(ABORT, 'the chain head only moves forward'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

-- The signed manifest of every export (domain::chain::Manifest), by the file's SHA-256, so that
-- a file downloaded from a page can be checked without the manifest beside it.
CREATE TABLE export_manifests (
    id      INTEGER PRIMARY KEY,
    sha256  TEXT    NOT NULL,
    made_at INTEGER NOT NULL,
    body    TEXT    NOT NULL
);
CREATE INDEX export_manifests_sha256 ON export_manifests(sha256);
CREATE TRIGGER export_manifests_no_delete BEFORE DELETE ON export_manifests
BEGIN SELECT RAISE(ABORT, 'export manifests are append-only'); END;
CREATE TRIGGER export_manifests_no_update BEFORE UPDATE ON export_manifests
BEGIN SELECT RAISE(ABORT, 'export manifests are append-only'); END;
