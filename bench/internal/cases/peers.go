package cases

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	ginjwt "github.com/appleboy/gin-jwt/v2"
	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/jwtauth/v5"
	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	jwt4 "github.com/golang-jwt/jwt/v4"
	"github.com/golang-jwt/jwt/v5"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
)

// Each peer is configured as its README shows, with the checks it offers that
// gatehouse also makes: the algorithm pinned to the key's; issuer and audience where
// the middleware has options for them (jwtauth, golang-jwt; gin-jwt v2 and contrib/jwt
// v1 check exp, and nbf and iat when present, only). None of them has a revocation
// check, and none remembers a verified token: a reused token costs them what a new
// one does.

func ginMiddleware(mw string, alg *fixture.Alg) ([]gin.HandlerFunc, error) {
	switch mw {
	case Bare:
		return nil, nil
	case "gatehouse":
		return []gin.HandlerFunc{ginauth.Require(alg.Auth)}, nil
	case "gin-jwt":
		m := &ginjwt.GinJWTMiddleware{
			Realm:            "bench",
			SigningAlgorithm: alg.Name,
			Timeout:          time.Hour,
			ParseOptions:     []jwt4.ParserOption{jwt4.WithValidMethods([]string{alg.Name})},
		}
		if alg.Name == "HS256" {
			m.Key = alg.PeerKey.([]byte)
		} else {
			// gin-jwt v2 reads RSA keys only; other keys come through KeyFunc, which
			// then has the algorithm check to make (WithValidMethods makes it).
			m.KeyFunc = func(*jwt4.Token) (any, error) { return alg.PeerKey, nil }
		}
		h, err := ginjwt.New(m)
		if err != nil {
			return nil, err
		}
		return []gin.HandlerFunc{h.MiddlewareFunc()}, nil
	}
	return nil, fmt.Errorf("no middleware %q for gin", mw)
}

func fiberMiddleware(mw string, alg *fixture.Alg) ([]fiber.Handler, error) {
	switch mw {
	case Bare:
		return nil, nil
	case "gatehouse":
		return []fiber.Handler{fiberauth.Require(alg.Auth)}, nil
	case "contrib/jwt":
		return []fiber.Handler{jwtware.New(jwtware.Config{
			SigningKey: jwtware.SigningKey{JWTAlg: alg.Name, Key: alg.PeerKey},
		})}, nil
	}
	return nil, fmt.Errorf("no middleware %q for fiber", mw)
}

func httpMiddleware(mw string, alg *fixture.Alg) (func(http.Handler) http.Handler, error) {
	switch mw {
	case Bare:
		return func(h http.Handler) http.Handler { return h }, nil
	case "gatehouse":
		return httpauth.Require(alg.Auth), nil
	case "jwtauth":
		ja := jwtauth.New(alg.Name, nil, alg.PeerKey,
			jwxjwt.WithIssuer(fixture.Issuer), jwxjwt.WithAudience(fixture.Audience))
		return func(h http.Handler) http.Handler {
			return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(h))
		}, nil
	case "golang-jwt":
		return golangJWT(alg), nil
	}
	return nil, fmt.Errorf("no middleware %q for net/http", mw)
}

// JWTClaims is what a golang-jwt user would decode gatehouse's access token into.
type JWTClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Email     string `json:"email"`
	Name      string `json:"name"`
}

// JWTParser is golang-jwt v5's parser with the strictest options it has that match
// gatehouse's checks.
func JWTParser(alg string) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{alg}), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithIssuer(fixture.Issuer), jwt.WithAudience(fixture.Audience),
		jwt.WithStrictDecoding(),
	)
}

type jwtClaimsKey struct{}

// golangJWT is the middleware an app would write on bare golang-jwt v5: the Bearer
// token parsed into JWTClaims, put in the request's context.
func golangJWT(alg *fixture.Alg) func(http.Handler) http.Handler {
	p := JWTParser(alg.Name)
	keyFunc := func(*jwt.Token) (any, error) { return alg.PeerKey, nil }
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			c := new(JWTClaims)
			if _, err := p.ParseWithClaims(tok, c, keyFunc); err != nil {
				http.Error(w, "invalid token", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), jwtClaimsKey{}, c)))
		})
	}
}
