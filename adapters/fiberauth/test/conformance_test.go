package test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/authtest"
)

// TestConformance runs core's HTTP suite against a real Fiber server on fasthttp.
func TestConformance(t *testing.T) { authtest.Run(t, serve) }
