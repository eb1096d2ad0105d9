package dashboard

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/errs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/web"
)

// twoFactorView fills what every state of the two-factor page needs.
func (s *server) twoFactorView(r *http.Request) (web.TwoFactorView, error) {
	p := principalFrom(r)
	v := web.TwoFactorView{Enabled: p.User.TwoFactorEnabled(),
		Form: web.Form{Values: map[string]string{}, Errors: map[string]string{}}}
	if v.Enabled {
		v.EnabledAt = p.User.TOTPEnabledAt.UTC().Format("2 Jan 2006 15:04 UTC")
		n, err := s.TwoFactor.RecoveryCodesLeft(r.Context(), p.User.ID)
		if err != nil {
			return v, err
		}
		v.CodesLeft = n
	}
	for _, a := range p.Accounts {
		if a.EnforceTwofactor {
			v.RequiredBy = append(v.RequiredBy, a.Name)
		}
	}
	return v, nil
}

func (s *server) renderTwoFactor(w http.ResponseWriter, r *http.Request, status int, v web.TwoFactorView) error {
	return s.render(w, r, status, web.TwoFactor(s.page(w, r, "Two-factor sign-in", "profile"), v))
}

// handleTwoFactorPage shows whether two-factor sign-in is on, with the way to turn it on or off.
func (s *server) handleTwoFactorPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.twoFactorView(r)
	if err != nil {
		return err
	}
	return s.renderTwoFactor(w, r, http.StatusOK, v)
}

// handleTwoFactorSetup makes a new secret and shows its QR code with the confirming form.
func (s *server) handleTwoFactorSetup(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseForm(w, r); err != nil {
		return err
	}
	v, err := s.twoFactorView(r)
	if err != nil {
		return err
	}
	if v.Enabled {
		redirect(w, r, "/profile/two-factor")
		return nil
	}
	setup, err := s.TwoFactor.BeginSetup(r.Context(), principalFrom(r).User)
	if err != nil {
		return err
	}
	v.Setup = &web.TwoFactorSetup{QR: setup.QR, Secret: setup.Secret}
	return s.renderTwoFactor(w, r, http.StatusOK, v)
}

// handleTwoFactorEnable checks the confirming code, turns two-factor on and shows the recovery
// codes, once.
func (s *server) handleTwoFactorEnable(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "code")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	v, err := s.twoFactorView(r)
	if err != nil {
		return err
	}
	codes, err := s.TwoFactor.Enable(r.Context(), s.actor(r, p.User), p.User.ID, f.Value("code"))
	if err != nil {
		if !fieldError(&f, err, "code") {
			return err
		}
		v.Form = f
		v.Form.Values["code"] = ""
		if setup, serr := s.TwoFactor.PendingSetup(p.User); serr == nil {
			v.Setup = &web.TwoFactorSetup{QR: setup.QR, Secret: setup.Secret}
		}
		return s.renderTwoFactor(w, r, http.StatusUnprocessableEntity, v)
	}
	s.notify(r.Context(), mail.KindTwoFactorOn, p.User.Email, s.mailNotice(r, p.User.Email, "/profile/two-factor"))
	v.RecoveryCodes = codes
	v.RequiredBy = nil
	return s.renderTwoFactor(w, r, http.StatusOK, v)
}

// handleTwoFactorDisable turns two-factor off after a current code or a recovery code, throttled
// like sign-in.
func (s *server) handleTwoFactorDisable(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "code")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	v, err := s.twoFactorView(r)
	if err != nil {
		return err
	}
	show := func(status int) error {
		v.Form = f
		v.Form.Values["code"] = ""
		return s.renderTwoFactor(w, r, status, v)
	}
	attempt, wait, err := s.reserveSignIn(r, p.User.Email)
	if err != nil {
		return err
	}
	if attempt == nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		f.Error = "Too many attempts, try again in " + minutes(wait) + "."
		return show(http.StatusTooManyRequests)
	}
	err = s.TwoFactor.Disable(r.Context(), s.actor(r, p.User), p.User.ID, f.Value("code"))
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			attempt.refund(r.Context())
			redirect(w, r, "/profile/two-factor")
			return nil
		}
		if fieldError(&f, err, "code") {
			return show(http.StatusUnprocessableEntity)
		}
		attempt.refund(r.Context())
		return err
	}
	attempt.succeeded(r.Context())
	s.notify(r.Context(), mail.KindTwoFactorOff, p.User.Email, s.mailNotice(r, p.User.Email, "/profile/two-factor"))
	s.flash(w, r, web.FlashSuccess, "Two-factor sign-in is off.")
	redirect(w, r, "/profile/two-factor")
	return nil
}

// mailNotice is the data of a mail about a change made by request r.
func (s *server) mailNotice(r *http.Request, email, path string) mail.Notice {
	return mail.Notice{Email: email, When: s.Now().UTC().Format("2 Jan 2006 15:04 UTC"), IP: cmp(s.clientIP(r), "an unknown address"),
		Browser: cmp(userAgent(r), "an unknown browser"), Link: strings.TrimSuffix(s.Config.BaseURL, "/") + path}
}

// handleTwoFactorRecoveryCodes replaces the recovery codes after a current code or a recovery
// code, throttled like sign-in, and shows the new ones once.
func (s *server) handleTwoFactorRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(w, r, "renew_code")
	if err != nil {
		return err
	}
	p := principalFrom(r)
	v, err := s.twoFactorView(r)
	if err != nil {
		return err
	}
	show := func(status int, msg string) error {
		v.Form = f
		v.Form.Values["renew_code"] = ""
		v.Form.Errors["renew_code"] = msg
		return s.renderTwoFactor(w, r, status, v)
	}
	attempt, wait, err := s.reserveSignIn(r, p.User.Email)
	if err != nil {
		return err
	}
	if attempt == nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return show(http.StatusTooManyRequests, "Too many attempts, try again in "+minutes(wait)+".")
	}
	codes, err := s.TwoFactor.RenewRecoveryCodes(r.Context(), s.actor(r, p.User), p.User.ID, f.Value("renew_code"))
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			attempt.refund(r.Context())
			redirect(w, r, "/profile/two-factor")
			return nil
		}
		if errs.Is(err, errs.Invalid) {
			return show(http.StatusUnprocessableEntity, errs.MessageOf(err))
		}
		attempt.refund(r.Context())
		return err
	}
	attempt.succeeded(r.Context())
	s.notify(r.Context(), mail.KindRecoveryCodes, p.User.Email, s.mailNotice(r, p.User.Email, "/profile/two-factor"))
	v.RecoveryCodes, v.Renewed = codes, true
	return s.renderTwoFactor(w, r, http.StatusOK, v)
}
