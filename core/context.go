package core

import "context"

type claimsKey struct{}

// NewContext returns a copy of ctx carrying the claims of an authenticated request.
// The adapters' middleware calls it; handlers read the claims with FromContext.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims the middleware stored in ctx, if any.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Client describes the device a session is started from, kept with the session for
// the user's list of sessions. The zero Client is fine: nothing is shown.
type Client struct {
	UserAgent string
	IP        string
}

// clientOf is the device of a sign-in request.
func clientOf(ex Exchange) Client {
	return Client{UserAgent: truncate(ex.Header("User-Agent"), 256), IP: ex.RemoteIP()}
}
