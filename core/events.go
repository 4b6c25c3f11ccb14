package core

import (
	"context"
	"time"
)

// EventType names what happened.
type EventType string

// The events WithEvents reports.
const (
	EventLogin         EventType = "login"
	EventRefresh       EventType = "refresh"
	EventReuseDetected EventType = "reuse_detected"
	EventRevoke        EventType = "revoke"
	EventLogout        EventType = "logout"
	EventLogoutAll     EventType = "logout_all"
	// EventSessionEvicted is a session ended because its user started more than
	// WithMaxSessions allows: the oldest go.
	EventSessionEvicted EventType = "session_evicted"
)

// Event is one thing that happened to a session, for audit logs and metrics.
type Event struct {
	Type      EventType
	Subject   string
	SessionID string // empty for EventLogoutAll
	Time      time.Time
}

func (a *Auth) emit(ctx context.Context, e Event) {
	a.cfg.logger.DebugContext(ctx, "gatehouse: "+string(e.Type), "sub", e.Subject, "sid", e.SessionID)
	if a.cfg.events != nil {
		a.cfg.events(ctx, e)
	}
}
