package test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// newRouter is the app every test of this package serves: the auth routes, a protected
// and an optional API route.
func newRouter(auth *core.Auth) *gin.Engine {
	r := gin.New()
	ginauth.Mount(r, auth)
	r.GET("/api/protected", ginauth.Require(auth), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email, "sub": claims.Subject})
	})
	r.GET("/api/optional", ginauth.Optional(auth), func(c *gin.Context) {
		claims, ok := ginauth.Claims(c)
		if !ok {
			c.JSON(http.StatusOK, gin.H{"anonymous": true})
			return
		}
		c.JSON(http.StatusOK, gin.H{"email": claims.Email, "sub": claims.Subject})
	})
	return r
}

// serve starts a real HTTP server on 127.0.0.1:0 for auth and returns its base URL.
func serve(t *testing.T, auth *core.Auth) string {
	t.Helper()
	srv := httptest.NewServer(newRouter(auth))
	t.Cleanup(srv.Close)
	return srv.URL
}
