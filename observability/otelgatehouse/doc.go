// Package otelgatehouse reports what gatehouse does as OpenTelemetry metrics and
// traces. It uses the OpenTelemetry API only: the app brings the SDK and the exporter
// (Prometheus, OTLP, …) and passes their providers, or sets the global ones.
//
//	otel, err := otelgatehouse.New(otelgatehouse.WithMeterProvider(mp), otelgatehouse.WithTracerProvider(tp))
//	if err != nil { … }
//	auth, err := core.New(otel.Store(store), otel.Options()...)
//
// Options sets core's WithEvents, WithTracing and WithProviderTransport; an app with an
// events hook of its own calls Instrumentation.Events from it instead.
//
// # Metrics
//
// With the names the Prometheus exporter gives them:
//
//   - gatehouse.authentications{result}: every authentication of an access token;
//     gatehouse_authentications_total. result is ok, no_token, invalid, expired,
//     revoked, forbidden or store_error.
//   - gatehouse.signins{provider,result}: every sign-in callback;
//     gatehouse_signins_total. result is ok, denied, forbidden, invalid,
//     provider_error or store_error; provider is a configured provider's name, or
//     "unknown".
//   - gatehouse.refreshes{result}: ok, reuse (a stolen or replayed refresh token: the
//     session was ended), invalid, expired or store_error; gatehouse_refreshes_total.
//   - gatehouse.logouts: sessions ended by logout, and logouts everywhere (one each);
//     gatehouse_logouts_total.
//   - gatehouse.revocations: access tokens revoked alone (RFC 7009);
//     gatehouse_revocations_total.
//   - gatehouse.sessions.evicted: sessions ended by the per-user cap;
//     gatehouse_sessions_evicted_total.
//   - gatehouse.rate_limited: requests refused with 429 by the per-IP rate limit;
//     gatehouse_rate_limited_total.
//   - gatehouse.store.operation.duration{operation}: the latency of every store call
//     made through Store, in seconds; gatehouse_store_operation_duration_seconds.
//     IsRevoked, the revocation check of every request, is timed only with
//     WithRevocationCheckTiming (see there for why).
//   - gatehouse.store.errors{operation}: store calls that failed;
//     gatehouse_store_errors_total.
//   - gatehouse.revocation_filter.entries: the revocations a store's in-memory filter
//     holds, only with WithRevocationEntries (no store interface exposes it: the app
//     passes what its store reports, such as boltstore's Stats).
//
// Password failures and throttles have no metric yet: core has no password sign-in.
//
// # Traces
//
// Spans gatehouse.signin (the callback: state, code exchange, id_token, session),
// gatehouse.refresh, gatehouse.logout, gatehouse.logout_all and gatehouse.revoke, each
// with a gatehouse.result attribute where core reports one and an error status
// carrying the OAuth error code when it fails. Their children: the store calls made
// through Store (gatehouse.store.<operation>), and the round trips to the identity
// provider through Transport (which is otelhttp's). Store calls outside a traced
// operation or request get no span of their own, and IsRevoked, the revocation check
// of every request, none at all: it answers from memory, and a span would cost more
// than the call. Authentication is not a span: it
// sets gatehouse.authentication.result on the request's span (otelhttp, otelgin,
// otelfiber), when there is one.
//
// # What is never exported
//
// No attribute or label carries a token, an email address, a password, a key, a
// subject, a session id or an error's text: only the closed sets above (result,
// provider names the app configured, operation names, OAuth error codes).
// otelhttp's own spans carry the provider's URLs (without query values it redacts)
// and the status code; gatehouse sends no secret in a provider URL.
package otelgatehouse
