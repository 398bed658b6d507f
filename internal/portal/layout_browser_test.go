package portal_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// unlabelledJS lists the form fields of the page that have no label: no
// <label for>, no enclosing <label>, no aria-label or aria-labelledby.
const unlabelledJS = `Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML.slice(0, 120))`

// overflowJS is how far the page is wider than the window (0 when it
// fits: wide tables scroll inside their own box).
const overflowJS = `Math.max(0, document.documentElement.scrollWidth - window.innerWidth)`

// TestBrowserPagesFitAndLabelled opens every page at 1280 px and at a
// phone's 390 px: no page is wider than the window, and every form field
// has a label.
func TestBrowserPagesFitAndLabelled(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)
	b.signInAdmin()
	pages := []string{
		"/portal/environment",
		"/portal/subscriptions/" + server.DemoSubProduction + "/export",
		"/portal/subscriptions/" + server.DemoSubProduction + "/export?tab=workspace",
		"/portal/alerts",
		"/portal/recommendations",
		"/portal/score",
		"/portal/compliance",
		"/portal/health",
		"/portal/workspace",
	}
	for _, width := range []int64{1280, 390} {
		b.run("resize", chromedp.EmulateViewport(width, 900))
		for _, p := range pages {
			t.Run(fmt.Sprintf("%d%s", width, p), func(t *testing.T) {
				b.run("open "+p, chromedp.Navigate(b.url(p)), chromedp.WaitVisible(chromedp.CSS("main h1")))
				if over := get(b, "overflow", chromedp.Evaluate[int](overflowJS)); over > 0 {
					t.Errorf("%s at %d px is %d px wider than the window", p, width, over)
				}
				if bad := get(b, "labels", chromedp.Evaluate[[]string](unlabelledJS)); len(bad) > 0 {
					t.Errorf("%s has form fields without a label: %q", p, bad)
				}
				fields := get(b, "fields", chromedp.Evaluate[int](`document.querySelectorAll('input:not([type=hidden]), select, textarea').length`))
				if fields == 0 && p != "/portal/environment" && p != "/portal/health" {
					t.Errorf("%s has no form field: the label check checked nothing", p)
				}
			})
		}
	}
	// The sign-in page too, signed out.
	b.run("sign out", chromedp.Click(chromedp.CSS("form.signout button")), chromedp.WaitVisible(chromedp.ID("username")))
	if bad := get(b, "labels", chromedp.Evaluate[[]string](unlabelledJS)); len(bad) > 0 {
		t.Errorf("the sign-in page has form fields without a label: %q", bad)
	}
}
