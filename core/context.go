package core

import "context"

type claimsKey struct{}

type clientKey struct{}

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

// Client describes the device a session was started from, kept with the session for
// the user's list of sessions.
type Client struct {
	UserAgent string
	IP        string
}

// ContextWithClient returns a copy of ctx carrying c, which Issue records with the new
// session.
func ContextWithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

func clientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}
