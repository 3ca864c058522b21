-- The written comments of a period, found without reading the ratings that have none: the
-- report pages list a target's comments for its managers.
CREATE INDEX responses_commented ON responses(local_day) WHERE comment IS NOT NULL;
