package redisstore

// FilterTrusted reports whether IsRevoked of s answers misses from its filters.
func FilterTrusted(s *Store) bool { return s.sub.Trusted() }

// Generation counts the losses and confirmations of the subscription of s.
func Generation(s *Store) uint64 { return s.sub.Generation() }
