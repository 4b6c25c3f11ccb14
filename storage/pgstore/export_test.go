package pgstore

// FilterTrusted reports whether IsRevoked of s answers misses from its filters.
func FilterTrusted(s *Store) bool { return s.feed.Trusted() }

// Generation counts the losses and LISTENs of the listener of s.
func Generation(s *Store) uint64 { return s.feed.Generation() }

// Channel is the LISTEN/NOTIFY channel of s.
func Channel(s *Store) string { return s.channel }

// ListenerPID is the backend process id of the current listener connection of s.
func ListenerPID(s *Store) uint32 { return s.listenerPID.Load() }
