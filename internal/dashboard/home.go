package dashboard

import "net/http"

// handleHome sends signed-in users to their zones and everyone else to sign in.
func (s *server) handleHome(w http.ResponseWriter, r *http.Request) error {
	if principalFrom(r) != nil {
		redirect(w, r, "/zones")
	} else {
		redirect(w, r, "/signin")
	}
	return nil
}
