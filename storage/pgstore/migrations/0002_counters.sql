-- gatehouse pgstore, schema version 2: the counters of throttles (Store.Count).
--
-- Placeholders, times and ids as in 0001_init.sql: {{table:x}} is the schema-qualified
-- table <prefix>x, times are int8 nanoseconds since 1970-01-01 UTC, keys are bytea.

-- Counters, each until the end of its window: its count and that end. Count upserts a
-- row in one statement; Purge deletes the rows whose window has ended.
CREATE TABLE {{table:counters}} (
	id     bytea PRIMARY KEY,
	n      int8  NOT NULL,
	end_ns int8  NOT NULL
);
CREATE INDEX {{name:counters_end_idx}} ON {{table:counters}} (end_ns);
