package core

// ApplyRotation applies the refresh r to s, in memory, by the rule Store.Rotate
// documents: it is that rule written once, for every store that holds sessions as Go
// values. A store reads the session r.SessionID inside its lock or transaction, calls
// ApplyRotation on it, and writes it back when it returns nil. It does not look at
// r.SessionID: answering ErrSessionNotFound for a session that does not exist is the
// store's part.
//
// It returns ErrSessionExpired if r.Now is at or after ExpiresAt or IdleExpiresAt (a
// zero IdleExpiresAt has passed), and ErrRefreshReused if r.Presented is neither
// Current nor, with r.Grace > 0 and r.Now before PreviousUntil, Previous; an empty
// r.Presented matches neither. On an error s is unchanged. Otherwise it changes s as
// Store.Rotate documents: the swap (unless inside the grace window), LastUsedAt and
// IdleExpiresAt only forward in time and never past ExpiresAt (IdleTimeout 0 means
// IdleExpiresAt = ExpiresAt), AccessExpiresAt the later of the two, ExpiresAt never.
//
// It compares times as they are, monotonic clock readings included; a store that keeps
// wall-clock times only strips them from r first (time.Time.Round(0)).
func (s *Session) ApplyRotation(r Rotation) error {
	switch {
	case !r.Now.Before(s.ExpiresAt) || !r.Now.Before(s.IdleExpiresAt):
		return ErrSessionExpired
	case r.Presented != "" && r.Presented == s.Current:
		s.Previous, s.PreviousUntil, s.Current = s.Current, r.Now.Add(r.Grace), r.Next
	case r.Presented != "" && r.Grace > 0 && r.Presented == s.Previous && r.Now.Before(s.PreviousUntil):
		// Inside the grace window: Current stays.
	default:
		return ErrRefreshReused
	}
	if r.Now.After(s.LastUsedAt) {
		s.LastUsedAt = r.Now
		s.IdleExpiresAt = s.ExpiresAt
		if idle := r.Now.Add(r.IdleTimeout); r.IdleTimeout != 0 && idle.Before(s.ExpiresAt) {
			s.IdleExpiresAt = idle
		}
	}
	if r.AccessExpiresAt.After(s.AccessExpiresAt) {
		s.AccessExpiresAt = r.AccessExpiresAt
	}
	return nil
}
