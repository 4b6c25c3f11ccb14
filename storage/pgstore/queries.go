package pgstore

// queries are the store's statements with its schema and prefix filled in.
type queries struct {
	revoke, isRevoked, countRevocations, loadRevocations              string
	createSession, session, sessions, rotate, endSession, endSessions string
	loadKey, storeKey, consume, count, readCount                      string
	purgeRevocations, purgeSessions, purgeConsumed, purgeCounters     string
	exportKeys, exportSessions, exportRevocations                     string
	importKey, importSession, importRevocation                        string
}

// sessionColumns are the columns scanSession reads, in its order.
const sessionColumns = `id, identity, user_agent, ip, created_ns, last_used_ns, expires_ns,
	idle_expires_ns, access_expires_ns, current_jti, previous_jti, previous_until_ns`

// insertSession is the INSERT of a whole session, $1 to $13.
const insertSession = `INSERT INTO {{table:sessions}} (id, subject, identity, user_agent, ip,
	created_ns, last_used_ns, expires_ns, idle_expires_ns, access_expires_ns,
	current_jti, previous_jti, previous_until_ns)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// upsertRevocation revokes $1 ('t' or 's') $2 until $3, keeping the later of two
// expiries. The trigger announces it.
const upsertRevocation = `INSERT INTO {{table:revocations}} AS r (kind, id, expires_ns) VALUES ($1, $2, $3)
	ON CONFLICT (kind, id) DO UPDATE SET expires_ns = greatest(r.expires_ns, excluded.expires_ns)`

func newQueries(n names) queries {
	q := queries{
		revoke: upsertRevocation,
		// Two probes of the primary key; a NULL id matches nothing.
		isRevoked: `SELECT EXISTS (SELECT 1 FROM {{table:revocations}} WHERE kind = 't' AND id = $1)
			OR EXISTS (SELECT 1 FROM {{table:revocations}} WHERE kind = 's' AND id = $2)`,
		countRevocations: `SELECT count(*) FROM {{table:revocations}}`,
		loadRevocations:  `SELECT kind, id FROM {{table:revocations}}`,

		createSession: insertSession + ` ON CONFLICT (id) DO NOTHING`,
		session:       `SELECT ` + sessionColumns + ` FROM {{table:sessions}} WHERE id = $1`,
		sessions:      `SELECT ` + sessionColumns + ` FROM {{table:sessions}} WHERE subject = $1`,

		// Rotate in one statement: the UPDATE applies core.Store.Rotate's rule to the
		// row it locks. Under READ COMMITTED an UPDATE that waited for another one's
		// lock checks its WHERE again on the row that one committed (or finds it
		// deleted), so of rotations presenting one token without a grace window
		// exactly one matches.
		//
		// $1 sid, $2 presented, $3 next, $4 now, $5 now+grace, $6 whether grace > 0,
		// $7 now+idle timeout (NULL: no idle timeout), $8 the new access token's end.
		// Every right-hand side reads the row as it was before the UPDATE.
		rotate: `UPDATE {{table:sessions}} SET
				previous_jti      = CASE WHEN current_jti = $2 THEN current_jti ELSE previous_jti END,
				previous_until_ns = CASE WHEN current_jti = $2 THEN $5::int8 ELSE previous_until_ns END,
				current_jti       = CASE WHEN current_jti = $2 THEN $3::bytea ELSE current_jti END,
				last_used_ns      = greatest(last_used_ns, $4::int8),
				idle_expires_ns   = CASE WHEN $4::int8 > last_used_ns
					THEN least(coalesce($7::int8, expires_ns), expires_ns) ELSE idle_expires_ns END,
				access_expires_ns = greatest(access_expires_ns, $8::int8)
			WHERE id = $1 AND $4::int8 < expires_ns AND $4::int8 < idle_expires_ns
				AND (current_jti = $2 OR ($6::bool AND previous_jti = $2 AND $4::int8 < previous_until_ns))
			RETURNING ` + sessionColumns,

		// Delete and revoke in one statement; the revocation lasts until the session's
		// last access token ends, as it was when the DELETE locked it.
		endSession: `WITH d AS (
			DELETE FROM {{table:sessions}} WHERE id = $1 RETURNING ` + sessionColumns + `
		), r AS (
			INSERT INTO {{table:revocations}} AS r (kind, id, expires_ns)
				SELECT 's', id, access_expires_ns FROM d
			ON CONFLICT (kind, id) DO UPDATE SET expires_ns = greatest(r.expires_ns, excluded.expires_ns)
		)
		SELECT * FROM d`,

		// The same for every session of a subject, in one statement.
		endSessions: `WITH d AS (
			DELETE FROM {{table:sessions}} WHERE subject = $1 RETURNING ` + sessionColumns + `
		), r AS (
			INSERT INTO {{table:revocations}} AS r (kind, id, expires_ns)
				SELECT 's', id, access_expires_ns FROM d
			ON CONFLICT (kind, id) DO UPDATE SET expires_ns = greatest(r.expires_ns, excluded.expires_ns)
		)
		SELECT * FROM d`,

		loadKey: `SELECT value FROM {{table:keys}} WHERE name = $1`,
		// The INSERT returns the value when it wrote it; when another writer's row
		// conflicts, the SELECT finds it, unless that writer committed after this
		// statement began, when LoadOrStoreKey asks again.
		storeKey: `WITH i AS (
			INSERT INTO {{table:keys}} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
		)
		SELECT value FROM i
		UNION ALL
		SELECT value FROM {{table:keys}} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM i)`,
		consume: `INSERT INTO {{table:consumed}} (id, expires_ns) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		// Count's add in one statement: $1 key, $2 add, $3 now, $4 now + window. A row
		// whose window has not ended at $3 gets the add and keeps its end; a missing
		// or ended one starts again. Concurrent upserts of one key wait for each
		// other's row lock and each adds to what the one before committed.
		count: `INSERT INTO {{table:counters}} AS c (id, n, end_ns) VALUES ($1, $2, $4)
			ON CONFLICT (id) DO UPDATE SET
				n      = CASE WHEN c.end_ns > $3::int8 THEN c.n + excluded.n ELSE excluded.n END,
				end_ns = CASE WHEN c.end_ns > $3::int8 THEN c.end_ns ELSE excluded.end_ns END
			RETURNING n, end_ns`,
		// Count's read, add 0: the counter if its window has not ended at $2.
		readCount: `SELECT n, end_ns FROM {{table:counters}} WHERE id = $1 AND end_ns > $2`,

		// Purge in batches: each statement locks up to $2 due rows that no other
		// transaction holds, deletes them, and counts them by kind. Instances purging
		// at once take disjoint batches.
		purgeRevocations: `WITH v AS (
			SELECT kind, id FROM {{table:revocations}} WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
		), d AS (
			DELETE FROM {{table:revocations}} r USING v WHERE r.kind = v.kind AND r.id = v.id RETURNING r.kind
		)
		SELECT count(*) FILTER (WHERE kind = 't'), count(*) FILTER (WHERE kind = 's') FROM d`,
		purgeSessions: `WITH v AS (
			SELECT id FROM {{table:sessions}} WHERE purge_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
		), d AS (
			DELETE FROM {{table:sessions}} s USING v WHERE s.id = v.id RETURNING 1
		)
		SELECT count(*) FROM d`,
		purgeConsumed: `WITH v AS (
			SELECT id FROM {{table:consumed}} WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
		), d AS (
			DELETE FROM {{table:consumed}} c USING v WHERE c.id = v.id RETURNING 1
		)
		SELECT count(*) FROM d`,
		purgeCounters: `WITH v AS (
			SELECT id FROM {{table:counters}} WHERE end_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
		), d AS (
			DELETE FROM {{table:counters}} c USING v WHERE c.id = v.id RETURNING 1
		)
		SELECT count(*) FROM d`,

		exportKeys:        `SELECT name, value FROM {{table:keys}}`,
		exportSessions:    `SELECT ` + sessionColumns + ` FROM {{table:sessions}}`,
		exportRevocations: `SELECT kind, id, expires_ns FROM {{table:revocations}}`,

		importKey: `INSERT INTO {{table:keys}} (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		importSession: insertSession + ` ON CONFLICT (id) DO UPDATE SET
			subject = excluded.subject, identity = excluded.identity, user_agent = excluded.user_agent,
			ip = excluded.ip, created_ns = excluded.created_ns, last_used_ns = excluded.last_used_ns,
			expires_ns = excluded.expires_ns, idle_expires_ns = excluded.idle_expires_ns,
			access_expires_ns = excluded.access_expires_ns, current_jti = excluded.current_jti,
			previous_jti = excluded.previous_jti, previous_until_ns = excluded.previous_until_ns`,
		importRevocation: upsertRevocation,
	}
	for _, p := range []*string{
		&q.revoke, &q.isRevoked, &q.countRevocations, &q.loadRevocations,
		&q.createSession, &q.session, &q.sessions, &q.rotate, &q.endSession, &q.endSessions,
		&q.loadKey, &q.storeKey, &q.consume, &q.count, &q.readCount,
		&q.purgeRevocations, &q.purgeSessions, &q.purgeConsumed, &q.purgeCounters,
		&q.exportKeys, &q.exportSessions, &q.exportRevocations,
		&q.importKey, &q.importSession, &q.importRevocation,
	} {
		*p = n.render(*p)
	}
	return q
}
