package authtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testInterop has golang.org/x/oauth2, a client nobody here wrote, refresh through
// {prefix}/refresh. The auth style is set explicitly each time: with AutoDetect, x/oauth2
// retries a failed refresh in the other style, which would present the same refresh
// token twice and look like reuse.
func testInterop(t *testing.T, s *suite) {
	styles := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"AuthStyleInParams", oauth2.AuthStyleInParams},
		{"AuthStyleInHeader", oauth2.AuthStyleInHeader},
	}
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			e := s.newEnv(t)
			first := e.signIn()
			cfg := &oauth2.Config{
				ClientID: "interop-client", ClientSecret: "interop-secret",
				Endpoint: oauth2.Endpoint{TokenURL: e.base + prefix + "/refresh", AuthStyle: st.style},
			}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
			stale := &oauth2.Token{AccessToken: first.access, RefreshToken: first.refresh, Expiry: time.Now().Add(-time.Minute)}

			tok, err := cfg.TokenSource(ctx, stale).Token()
			if err != nil {
				t.Fatalf("x/oauth2 refresh: %v", err)
			}
			if tok.AccessToken == first.access || tok.RefreshToken == first.refresh || tok.RefreshToken == "" {
				t.Fatal("x/oauth2 got no new tokens")
			}
			if tok.Type() != "Bearer" || time.Until(tok.Expiry) < 14*time.Minute || time.Until(tok.Expiry) > 16*time.Minute {
				t.Fatalf("token type %q, expiry in %v: want Bearer, 15 minutes", tok.Type(), time.Until(tok.Expiry))
			}

			// The client x/oauth2 builds calls the API with the token, and refreshes again
			// with the rotated refresh token once the access token is stale.
			resp, err := cfg.Client(ctx, tok).Get(e.base + "/api/protected")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("API call with the x/oauth2 client: %d %s", resp.StatusCode, body)
			}
			tok.Expiry = time.Now().Add(-time.Minute)
			again, err := cfg.TokenSource(ctx, tok).Token()
			if err != nil || again.RefreshToken == tok.RefreshToken {
				t.Fatalf("second refresh: %v", err)
			}

			// The first refresh token was rotated away: x/oauth2 sees invalid_grant.
			_, err = cfg.TokenSource(ctx, stale).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
				t.Fatalf("reused refresh token: %v, want a 400 invalid_grant RetrieveError", err)
			}
		})
	}
}
