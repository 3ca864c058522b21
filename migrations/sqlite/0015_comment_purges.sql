-- Each run of the retention purge, kept for good: comments of the ratings given before `cutoff`
-- were erased (`erased` of them) at `at`, under a retention of `retention_days`. hailong
-- verify accepts an erased comment only under a purge's cutoff. Append-only.
CREATE TABLE comment_purges (
    id             INTEGER PRIMARY KEY,
    cutoff         INTEGER NOT NULL,
    retention_days INTEGER NOT NULL,
    erased         INTEGER NOT NULL,
    at             INTEGER NOT NULL
);
CREATE TRIGGER comment_purges_no_delete BEFORE DELETE ON comment_purges
BEGIN SELECT RAISE(ABORT, 'comment purges are append-only'); END;
CREATE TRIGGER comment_purges_no_update BEFORE UPDATE ON comment_purges
BEGIN SELECT RAISE(ABORT, 'comment purges are append-only'); END;
CREATE TRIGGER comment_purges_no_replace BEFORE INSERT ON comment_purges
WHEN EXISTS (SELECT 1 FROM comment_purges WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'comment purges are append-only'); END;

-- The comments erased before purges were recorded: one record covering them (the chain keeps
-- the hash of each rating's comment, or of "no comment", so an erased one is known).
INSERT INTO comment_purges (cutoff, retention_days, erased, at)
SELECT MAX(r.submitted_at) + 1, 0, COUNT(*), MAX(r.submitted_at) + 1
FROM responses r JOIN chain_links l ON l.kind = 'response' AND l.record_id = r.id
WHERE r.comment IS NULL AND l.erasable <> '6c5a604ce0d7de4ea3dccea81cc63a3c415dfc0fe9c8f19fc7630f52c6d4f6b7'
HAVING COUNT(*) > 0;
