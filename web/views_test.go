package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

// render renders c and parses it.
func render(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, b.String()
}

func signedIn() Page {
	return Page{Title: "Zones", Section: "zones", Path: "/zones",
		User:           &User{ID: "u1", Email: "ann@example.com", Name: "Ann Lee"},
		Accounts:       []Account{{ID: "a1", Name: "Acme"}, {ID: "a2", Name: "Beta <Corp>"}},
		CurrentAccount: &Account{ID: "a2", Name: "Beta <Corp>"}}
}

func TestLayoutSignedIn(t *testing.T) {
	p := signedIn()
	p.Flashes = []Flash{{Kind: FlashSuccess, Message: "Saved."}, {Kind: FlashError, Message: "Oops <b>"}}
	doc, html := render(t, Zones(p, ZonesView{AccountName: "Beta <Corp>"}))
	if got := doc.Find("title").Text(); got != "Zones · Latchkey" {
		t.Errorf("title %q", got)
	}
	if got := doc.Find("#account-switcher option[selected]").Text(); got != "Beta <Corp>" {
		t.Errorf("selected account %q", got)
	}
	if strings.Contains(html, "<Corp>") || strings.Contains(html, "Oops <b>") {
		t.Error("names rendered unescaped")
	}
	if got := doc.Find(`[role="status"].flash`).Text(); !strings.Contains(got, "Saved.") {
		t.Errorf("success flash %q", got)
	}
	if got := doc.Find(`[role="alert"].flash`).Text(); !strings.Contains(got, "Oops <b>") {
		t.Errorf("error flash %q", got)
	}
	if doc.Find(`nav a[aria-current="page"]`).First().Text() != "Zones" || doc.Find(`nav[aria-label="Main (menu)"] a[aria-current="page"]`).Text() != "Zones" {
		t.Error("active section not marked")
	}
	if doc.Find(`form[action="/signout"][method="post"] button`).Length() != 1 {
		t.Error("no sign-out button")
	}
	if v, _ := doc.Find(`input[name="return_to"]`).Attr("value"); v != "/zones" {
		t.Errorf("switcher returns to %q", v)
	}
	for _, asset := range []string{"app.css", "htmx.min.js", "app.js"} {
		if !strings.Contains(html, "/static/"+asset+"?v=") {
			t.Errorf("%s not referenced with a version", asset)
		}
	}
}

func TestZonesViewStates(t *testing.T) {
	t.Run("empty, writable", func(t *testing.T) {
		doc, _ := render(t, Zones(signedIn(), ZonesView{AccountName: "Acme", CanWrite: true}))
		if !strings.Contains(doc.Text(), "No zones yet") || doc.Find("table").Length() != 0 {
			t.Error("no empty state")
		}
		if doc.Find(`form[action="/zones"] label[for="field-name"]`).Length() != 1 {
			t.Error("add form without a label")
		}
	})
	t.Run("rows, read only", func(t *testing.T) {
		created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		v := ZonesView{AccountName: "Acme", Zones: []Zone{
			{ID: "z1", Name: "a.example", Status: "active", CreatedAt: created},
			{ID: "z2", Name: "b.example", Status: "active", Paused: true, CreatedAt: created},
		}, Pagination: Pagination{Page: 1, PerPage: 25, Total: 2}}
		doc, _ := render(t, Zones(signedIn(), v))
		if doc.Find(".zone-row").Length() != 2 {
			t.Fatal("rows missing")
		}
		if doc.Find(`form[action="/zones"]`).Length() != 0 || doc.Find(`a[href$="/delete"]`).Length() != 0 {
			t.Error("read-only view offers changes")
		}
		row2 := doc.Find(".zone-row").Eq(1)
		if !strings.Contains(row2.Text(), "Paused") || !strings.Contains(row2.Text(), "Mar 4, 2026") {
			t.Errorf("row 2: %q", strings.Join(strings.Fields(row2.Text()), " "))
		}
		if v, _ := row2.Find("time").Attr("datetime"); v != "2026-03-04T05:06:07Z" {
			t.Errorf("datetime %q", v)
		}
		if v, _ := row2.Find("[data-copy]").Attr("data-copy"); v != "z2" {
			t.Errorf("copy button copies %q", v)
		}
		if doc.Find(`nav[aria-label="Pagination"]`).Length() != 0 {
			t.Error("pager shown for one page")
		}
	})
	t.Run("form error", func(t *testing.T) {
		f := Form{Values: map[string]string{"name": "bad_name"}, Errors: map[string]string{"name": "Not valid."}}
		doc, _ := render(t, Zones(signedIn(), ZonesView{AccountName: "Acme", CanWrite: true, Form: f}))
		in := doc.Find("#field-name")
		if v, _ := in.Attr("value"); v != "bad_name" {
			t.Errorf("value %q", v)
		}
		if v, _ := in.Attr("aria-describedby"); v != "field-name-error" || doc.Find("#field-name-error").Text() != "Not valid." {
			t.Errorf("error not tied to the input: %q", v)
		}
	})
}

func TestTextField(t *testing.T) {
	doc, _ := render(t, TextField(Field{Name: "email", Label: "Email", Type: "email", Value: "a@b", Hint: "We never share it.", Required: true}))
	in := doc.Find("input")
	if v, _ := in.Attr("aria-describedby"); v != "field-email-hint" {
		t.Errorf("hint: aria-describedby %q", v)
	}
	if _, ok := in.Attr("aria-invalid"); ok {
		t.Error("valid field marked invalid")
	}
	if _, ok := in.Attr("required"); !ok {
		t.Error("required missing")
	}
	if doc.Find(`label[for="field-email"]`).Text() != "Email" {
		t.Error("label not tied to input")
	}
	doc, _ = render(t, TextField(Field{Name: "email", Label: "Email", Type: "email", Error: "Bad.", Hint: "ignored"}))
	if v, _ := doc.Find("input").Attr("aria-describedby"); v != "field-email-error" {
		t.Errorf("error: aria-describedby %q", v)
	}
	if doc.Find("#field-email-hint").Length() != 0 {
		t.Error("hint shown with an error")
	}
}

func TestSignInView(t *testing.T) {
	doc, _ := render(t, SignIn(Page{Title: "Sign in"}, SignInView{Next: "/zones?page=2",
		Form: Form{Values: map[string]string{"email": "a@b.c"}, Error: "Incorrect email or password."}}))
	if doc.Find("#form-error").Text() == "" || doc.Find(`[role="alert"]`).Length() != 1 {
		t.Error("form error missing")
	}
	if v, _ := doc.Find(`input[name="next"]`).Attr("value"); v != "/zones?page=2" {
		t.Errorf("next %q", v)
	}
	if _, ok := doc.Find("#field-password").Attr("autofocus"); !ok {
		t.Error("password not focused when the email is filled in")
	}
	if doc.Find("#account-switcher").Length() != 0 {
		t.Error("signed-out page shows the switcher")
	}
}

func TestPagination(t *testing.T) {
	p := Pagination{Page: 3, PerPage: 25, Total: 60}
	if p.First() != 51 || p.Last() != 60 {
		t.Errorf("first %d last %d", p.First(), p.Last())
	}
	if (Pagination{Page: 1, PerPage: 25}).First() != 0 {
		t.Error("empty list starts at 1")
	}
}

func TestDNSNameHTML(t *testing.T) {
	for name, want := range map[string]string{
		"example.com":          "example.<wbr>com",
		"_acme-challenge.a.b":  "_acme-challenge.<wbr>a.<wbr>b",
		"<script>.example.com": "&lt;script&gt;.<wbr>example.<wbr>com",
		"localhost":            "localhost",
	} {
		if got := dnsNameHTML(name); got != want {
			t.Errorf("dnsNameHTML(%q) = %q, want %q", name, got, want)
		}
	}
}
