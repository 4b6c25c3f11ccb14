package devidp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/examples/devidp"
)

// TestGatehouseSignsInThroughIt: gatehouse, with the provider mounted on its own server
// and configured as a plain core.OIDC provider (discovery happens at the first sign-in,
// once the server listens), signs a browser in and issues tokens for the typed email.
func TestGatehouseSignsInThroughIt(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{
		Issuer:  srv.URL + "/devidp",
		Clients: []devidp.Client{{ID: "gatehouse", Secret: "s3cret", RedirectURIs: []string{srv.URL + "/auth/callback"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := core.New(memstore.New(), core.WithIssuer(srv.URL), core.WithPublicURL(srv.URL),
		core.WithProviders(core.OIDC("devidp", p.Issuer(), "gatehouse", "s3cret")))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/devidp/", p)
	httpauth.Mount(mux, auth)

	jar, _ := cookiejar.New(nil)
	e := &env{t: t, srv: srv, p: p, issuer: p.Issuer(), redirect: srv.URL + "/auth/callback",
		http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	login := e.get(srv.URL + "/auth/login")
	if login.status != http.StatusFound || !strings.HasPrefix(login.header.Get("Location"), p.Issuer()+"/authorize?") {
		t.Fatalf("login: %d %q", login.status, login.header.Get("Location"))
	}
	q := e.signIn(login.header.Get("Location"), "grace@example.com")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/auth/callback?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	r := e.do(req)
	var tok core.Tokens
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	c, err := auth.Authenticate(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Email != "grace@example.com" || c.Subject != p.Issuer()+"#"+devidp.Subject("grace@example.com") {
		t.Fatalf("claims: email %q sub %q", c.Email, c.Subject)
	}
}

// Example mounts the provider on a server, registers one client, and reads its
// discovery document as a client would.
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := devidp.New(devidp.Config{
		Issuer:  srv.URL + "/devidp",
		Clients: []devidp.Client{{ID: "my-app", Secret: "secret", RedirectURIs: []string{srv.URL + "/auth/callback"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/devidp/", p) // then: core.OIDC("devidp", p.Issuer(), "my-app", "secret")

	resp, err := http.Get(p.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var d map[string]any
	json.Unmarshal(b, &d)
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"} {
		u, _ := url.Parse(d[k].(string))
		fmt.Println(k, u.Path)
	}
	fmt.Println(d["code_challenge_methods_supported"], d["id_token_signing_alg_values_supported"])
	// Output:
	// issuer /devidp
	// authorization_endpoint /devidp/authorize
	// token_endpoint /devidp/token
	// jwks_uri /devidp/jwks.json
	// [S256] [ES256]
}
