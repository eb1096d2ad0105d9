package dashboard

import "net/http"

// routes lists every dashboard route. Pages that need a signed-in user are wrapped in
// requireUser; the whole dashboard sits behind cross-origin protection (which refuses
// cross-site POSTs and lets GETs through) and the session loader.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", s.handle(s.handleHome))

	mux.Handle("GET /signup", s.handle(s.handleSignUpForm))
	mux.Handle("POST /signup", s.handle(s.handleSignUp))
	mux.Handle("GET /signin", s.handle(s.handleSignInForm))
	mux.Handle("POST /signin", s.handle(s.handleSignIn))
	mux.Handle("POST /signout", s.handle(s.handleSignOut))

	mux.Handle("POST /account/switch", s.handle(requireUser(s.handleAccountSwitch)))

	mux.Handle("GET /zones", s.handle(requireUser(s.handleZonesList)))
	mux.Handle("POST /zones", s.handle(requireUser(s.handleZoneCreate)))
	mux.Handle("GET /zones/{id}/delete", s.handle(requireUser(s.handleZoneDeleteConfirm)))
	mux.Handle("POST /zones/{id}/delete", s.handle(requireUser(s.handleZoneDelete)))

	mux.Handle("/", s.handle(s.handleNotFound))
	return securityHeaders(s.csrf.Handler(s.loadSession(mux)))
}
