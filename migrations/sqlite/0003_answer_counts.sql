-- Answer counts kept by the writer in the transaction of each group of responses, so that
-- reports read per-day sums rather than responses. "No desk / officer / field" is 0 (not NULL)
-- so that the key is unique; question_id '' with value 0 counts the responses themselves.

CREATE TABLE answer_counts (
    local_day             INTEGER NOT NULL,
    unit_id               INTEGER NOT NULL,
    desk_id               INTEGER NOT NULL,
    officer_id            INTEGER NOT NULL,
    field_id              INTEGER NOT NULL,
    channel               TEXT    NOT NULL,
    questionnaire_id      TEXT    NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    question_id           TEXT    NOT NULL,
    value                 INTEGER NOT NULL,
    count                 INTEGER NOT NULL,
    PRIMARY KEY (local_day, unit_id, desk_id, officer_id, field_id, channel,
                 questionnaire_id, questionnaire_version, question_id, value)
) WITHOUT ROWID; -- the key is the table: one B-tree to update, not two

INSERT INTO answer_counts
SELECT r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0),
       r.channel, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value, COUNT(*)
FROM responses r JOIN answers a ON a.response_id = r.id
GROUP BY r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0),
         r.channel, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value;

INSERT INTO answer_counts
SELECT r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0),
       r.channel, r.questionnaire_id, r.questionnaire_version, '', 0, COUNT(*)
FROM responses r
GROUP BY r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0),
         r.channel, r.questionnaire_id, r.questionnaire_version;
