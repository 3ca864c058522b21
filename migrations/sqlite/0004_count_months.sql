-- Month sums of the answer counts, one set per grain a report reads (unit, desk, officer,
-- field), folded from answer_counts by Store::fold_counts for the days up to count_folds's
-- through_day. A report over a year reads twelve months of these rather than 365 days of every
-- combination of desk, officer, field and channel. A response written into a folded day (a
-- late commit at midnight, seeded history) sets its month's through_day to 0 in the writer's
-- transaction, and the month is then read from answer_counts until it is folded anew.
--
-- target_id is the desk, officer or field id (0 for the unit grain and for "none"); channel is
-- kept on the unit grain only ('' elsewhere).

CREATE TABLE count_months (
    grain                 TEXT    NOT NULL,
    month                 INTEGER NOT NULL,
    unit_id               INTEGER NOT NULL,
    target_id             INTEGER NOT NULL,
    channel               TEXT    NOT NULL,
    questionnaire_id      TEXT    NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    question_id           TEXT    NOT NULL,
    value                 INTEGER NOT NULL,
    count                 INTEGER NOT NULL,
    PRIMARY KEY (grain, month, unit_id, target_id, channel, questionnaire_id, questionnaire_version,
                 question_id, value)
) WITHOUT ROWID;

-- month is YYYYMM; through_day the last YYYYMMDD folded into count_months (0: none).
CREATE TABLE count_folds (
    month       INTEGER PRIMARY KEY,
    through_day INTEGER NOT NULL
);
