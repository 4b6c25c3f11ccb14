package test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
)

// TestConformance runs core's HTTP suite with the routes on the app's ServeMux.
func TestConformance(t *testing.T) { authtest.Run(t, serve(mount)) }

// TestConformanceHandler runs it with the routes behind Handler, mounted on a prefix
// as chi or gorilla/mux would mount it.
func TestConformanceHandler(t *testing.T) { authtest.Run(t, serve(handler)) }

func mount(mux *http.ServeMux, a *core.Auth) { httpauth.Mount(mux, a) }

func handler(mux *http.ServeMux, a *core.Auth) { mux.Handle(a.Prefix()+"/", httpauth.Handler(a)) }
