// Command gin is the gatehouse example server on Gin: the demo page at /, a public
// API at /api, a protected one at /api/protected, and the auth routes under /auth.
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
	r.SetTrustedProxies(nil) // direct clients only; name your proxies here

	ginauth.Mount(r, app.Auth) // GET /auth/login, /auth/callback, POST /auth/refresh, ...
	r.GET("/api/protected", ginauth.Require(app.Auth), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email})
	})
	r.GET("/api", func(c *gin.Context) { c.JSON(http.StatusOK, app.Public()) })
	r.GET("/", func(c *gin.Context) {
		for k, v := range app.Page.Header {
			c.Header(k, v)
		}
		c.Data(http.StatusOK, app.Page.ContentType, app.Page.Body)
	})
	if app.DevIDP != nil {
		r.Any(demo.DevIDPPath+"/*path", gin.WrapH(app.DevIDP))
	}

	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	app.Serve(srv.Serve, srv.Shutdown)
}
