-- gatehouse pgstore, schema version 1: sessions, revocations, keys and consumed
-- sign-in states.
--
-- Names in double braces are filled in by pgstore from WithSchema and WithTablePrefix
-- ({{table:x}} is the schema-qualified table <prefix>x, {{name:x}} the unqualified
-- name <prefix>x, {{channel}} the LISTEN/NOTIFY channel as a string literal);
-- pgstore.Migrations returns this text with them filled in.
--
-- Times are int8 nanoseconds since 1970-01-01 UTC, so that every instant Go gives is
-- kept to the nanosecond (timestamptz keeps microseconds); Go's zero time is the
-- smallest int8. to_timestamp(x / 1e9) reads one. Ids, subjects, key names, user
-- agents and IPs are bytea: they are compared byte for byte, and may hold bytes (NUL,
-- invalid UTF-8) that text refuses. convert_from(x, 'UTF8') reads one.

CREATE TABLE {{table:sessions}} (
	id                bytea  PRIMARY KEY,
	subject           bytea  NOT NULL,
	identity          json   NOT NULL,
	user_agent        bytea  NOT NULL,
	ip                bytea  NOT NULL,
	created_ns        int8   NOT NULL,
	last_used_ns      int8   NOT NULL,
	expires_ns        int8   NOT NULL,
	idle_expires_ns   int8   NOT NULL,
	access_expires_ns int8   NOT NULL,
	current_jti       bytea  NOT NULL,
	previous_jti      bytea  NOT NULL,
	previous_until_ns int8   NOT NULL,
	-- core.Session.PurgeAt: the later of the end of refreshing (the earlier of the
	-- idle and the absolute expiry, the absolute one when the idle one is zero) and
	-- the last access token's expiry.
	purge_ns          int8   NOT NULL GENERATED ALWAYS AS (GREATEST(
		CASE WHEN idle_expires_ns <> -9223372036854775808 AND idle_expires_ns < expires_ns
			THEN idle_expires_ns ELSE expires_ns END,
		access_expires_ns)) STORED
);
CREATE INDEX {{name:sessions_subject_idx}} ON {{table:sessions}} (subject);
CREATE INDEX {{name:sessions_purge_idx}} ON {{table:sessions}} (purge_ns);

-- Revoked tokens (kind 't', id a jti) and sessions (kind 's', id a sid), each until
-- its expiry.
CREATE TABLE {{table:revocations}} (
	kind       text   NOT NULL CHECK (kind IN ('t', 's')),
	id         bytea  NOT NULL,
	expires_ns int8   NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX {{name:revocations_expires_idx}} ON {{table:revocations}} (expires_ns);

-- Every revocation written, by pgstore or by anyone else, is announced to the
-- instances' filters: "t:" or "s:" and the id in hex.
CREATE FUNCTION {{table:revocations_notify}}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify(TG_ARGV[0], NEW.kind || ':' || encode(NEW.id, 'hex'));
	RETURN NULL;
END
$$;
CREATE TRIGGER {{name:revocations_notify}} AFTER INSERT OR UPDATE ON {{table:revocations}}
	FOR EACH ROW EXECUTE FUNCTION {{table:revocations_notify}}({{channel}});

-- Keys of LoadOrStoreKey: never expire.
CREATE TABLE {{table:keys}} (
	name  bytea PRIMARY KEY,
	value bytea NOT NULL
);

-- Consumed one-time values (sign-in states), each until its expiry.
CREATE TABLE {{table:consumed}} (
	id         bytea PRIMARY KEY,
	expires_ns int8  NOT NULL
);
CREATE INDEX {{name:consumed_expires_idx}} ON {{table:consumed}} (expires_ns);
