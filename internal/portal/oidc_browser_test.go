package portal_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An external user signs in with the "corp" OpenID Connect issuer in
// Chromium: the portal sends the browser to the issuer, which approves the
// test user and sends it back; the user lands on the page they asked for,
// signed in, seeing what their Reader role allows.
func TestBrowserOIDCSignIn(t *testing.T) {
	o := newOIDCEnv(t)
	o.grantReader(t)
	b := newBrowser(t, o.env)
	button := chromedp.CSS(`a[href^="/portal/oidc/corp/start"]`)

	b.run("sign in with corp",
		chromedp.Navigate(b.url("/portal/environment")),
		chromedp.WaitVisible(button),
		chromedp.Click(button),
		chromedp.WaitVisible(chromedp.ID(`#tree`)),
	)
	if got := b.text(`form.signout .who`); got != "Erin External" {
		t.Errorf("signed in as %q, want Erin External", got)
	}
	if loc := get(b, "location", chromedp.Evaluate[string](`location.pathname`)); loc != "/portal/environment" {
		t.Errorf("landed on %s, want /portal/environment", loc)
	}
	if tree := b.text(`#tree`); !strings.Contains(tree, "Contoso Production") {
		t.Errorf("the Reader's environment tree lacks the demo estate:\n%s", tree)
	}
	if n := o.idp.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}

	// Signed out, a refused sign-in at the issuer shows its error on the
	// sign-in page and signs nobody in.
	o.idp.Deny("access_denied")
	b.run("refused sign-in",
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(button),
		chromedp.Click(button),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
	)
	if got := b.text(`p.flash.error`); !strings.Contains(got, "corp refused the sign-in (access_denied)") {
		t.Errorf("error after a refused sign-in = %q", got)
	}
	if n := get(b, "signed-out header", chromedp.Evaluate[int](`document.querySelectorAll('form.signout').length`)); n != 0 {
		t.Error("the refused sign-in shows a signed-in header")
	}
}
