// Command gin is the gatehouse example server on Gin: the demo page at /, a public
// API at /api, a protected one at /api/protected, one for the role admin at
// /api/admin, a server-rendered page at /account, and the auth routes under /auth.
// The environment configures it; see ../README.md.
package main

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/examples/internal/demo"
	"github.com/gin-gonic/gin"
)

func main() {
	app := demo.Start("Gin")

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	// Trust no proxy: the client IP (the rate limit's key) is the connection's, never
	// what an X-Forwarded-For header says. Behind a proxy, name it here.
	r.SetTrustedProxies(nil)
	// Gin has no request id of its own: each request gets one, in its logs and answer.
	r.Use(func(c *gin.Context) {
		start := time.Now()
		ctx, id := demo.BeginRequest(c.Request.Context(), c.GetHeader(demo.RequestIDHeader))
		c.Header(demo.RequestIDHeader, id)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		app.LogRequest(ctx, c.Request.Method, c.Request.URL.Path, c.Writer.Status(), time.Since(start))
	})
	r.GET("/healthz", func(c *gin.Context) { c.JSON(app.Healthy()) })
	r.GET("/readyz", func(c *gin.Context) { c.JSON(app.Ready(c.Request.Context())) })

	ginauth.Mount(r, app.Auth) // GET /auth/login, /auth/callback, POST /auth/refresh, ...
	r.GET("/api/protected", ginauth.Require(app.Auth), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email})
	})
	r.GET("/api/admin", ginauth.Require(app.Auth, ginauth.Role(demo.AdminRole)), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email, "roles": claims.Roles})
	})
	r.GET("/api", func(c *gin.Context) { c.JSON(http.StatusOK, app.Public()) })
	// A page for browsers: the access token comes in its cookie, and a browser without
	// one is sent to sign in.
	r.GET(demo.AccountPath, ginauth.Require(app.Auth, ginauth.RedirectToLogin()), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		page(c, app.Account(c.Request.Context(), claims))
	})
	r.GET("/", func(c *gin.Context) { page(c, app.Page) })
	if app.DevIDP != nil {
		r.Any(demo.DevIDPPath+"/*path", gin.WrapH(app.DevIDP))
	}

	srv := demo.HTTPServer(r) // header, read, write and idle timeouts, 16 KiB of headers
	app.Serve(srv.Serve, srv.Shutdown)
}

func page(c *gin.Context, p demo.Page) {
	for k, v := range p.Header {
		c.Header(k, v)
	}
	c.Data(p.Status, p.ContentType, p.Body)
}
