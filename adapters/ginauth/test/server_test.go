package test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// newRouter is the app every test of this package serves: the auth routes and the
// routes core/authtest's contract lists.
func newRouter(auth *core.Auth) *gin.Engine {
	r := gin.New()
	ginauth.Mount(r, auth)
	r.GET("/api/protected", ginauth.Require(auth), email)
	r.POST("/api/protected", ginauth.Require(auth), email)
	r.GET("/api/optional", ginauth.Optional(auth), optional)
	r.GET("/api/optional/admin", ginauth.Optional(auth, ginauth.Role("admin")), optional)
	r.GET("/api/admin", ginauth.Require(auth, ginauth.Role("admin")), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email, "roles": claims.Roles})
	})
	r.GET("/api/scoped", ginauth.Require(auth, ginauth.Scopes("reports:read", "reports:write")), email)
	r.GET("/api/reports", ginauth.Require(auth, ginauth.Role("admin", "editor"), ginauth.Scopes("reports:read")), email)
	r.GET("/api/allowed", ginauth.Require(auth, ginauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	})), email)
	page := ginauth.Require(auth, ginauth.RedirectToLogin())
	r.GET("/page", page, showPage)
	r.HEAD("/page", page, showPage) // Gin routes HEAD only where told to
	r.POST("/page", page, showPage)
	r.GET("/custom", ginauth.Require(auth, ginauth.OnRefused(refused)), email)
	r.GET("/custom/admin", ginauth.Require(auth, ginauth.Role("admin"), ginauth.OnRefused(refused)), email)
	skip := ginauth.Require(auth, ginauth.Skip(func(c *gin.Context) bool { return c.Request.URL.Path == "/skip/public" }))
	r.GET("/skip/public", skip, email)
	r.GET("/skip/private", skip, email)
	r.GET("/api/appclaims", appMiddleware(auth), appClaims)
	return r
}

// email answers the claims' email, "" when there are none.
func email(c *gin.Context) {
	out := gin.H{"email": ""}
	if claims, ok := ginauth.Claims(c); ok {
		out["email"], out["sub"] = claims.Email, claims.Subject
	}
	c.JSON(http.StatusOK, out)
}

// optional answers the claims' email and subject, or that there are none.
func optional(c *gin.Context) {
	claims, ok := ginauth.Claims(c)
	if !ok {
		c.JSON(http.StatusOK, gin.H{"anonymous": true})
		return
	}
	c.JSON(http.StatusOK, gin.H{"email": claims.Email, "sub": claims.Subject})
}

// refused is the app's answer to every refusal of /custom and /custom/admin.
func refused(c *gin.Context, err error) {
	c.String(http.StatusTeapot, "refused: %s", core.ErrorResponse(err).Code)
}

// showPage is a server-rendered page showing the user's email.
func showPage(c *gin.Context) {
	claims, _ := ginauth.Claims(c)
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte("<!doctype html><p>Signed in as "+html.EscapeString(claims.Email)+"</p>"))
}

// appMiddleware is the app's own authentication, without ginauth's middleware: it puts
// the claims into the request's context, where ginauth.Claims finds them.
func appMiddleware(auth *core.Auth) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		claims, err := auth.Authenticate(c.Request.Context(), tok)
		if !ok || err != nil {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "unauthorized"})
			return
		}
		c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
		c.Next()
	}
}

// appClaims answers the email of the claims appMiddleware put in the context, and 500
// when ginauth.Claims does not find them.
func appClaims(c *gin.Context) {
	claims, ok := ginauth.Claims(c)
	if !ok {
		c.JSON(http.StatusInternalServerError, gin.H{"error": "ginauth.Claims found no claims"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"email": claims.Email})
}

// serve starts a real HTTP server on 127.0.0.1:0 for auth and returns its base URL.
func serve(t *testing.T, auth *core.Auth) string {
	t.Helper()
	srv := httptest.NewServer(newRouter(auth))
	t.Cleanup(srv.Close)
	return srv.URL
}
