package portal_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sluice/internal/server/servertest"
)

// browser drives a headless Chromium against a test server.
type browser struct {
	t   *testing.T
	ctx context.Context
	env *servertest.Env
}

// chromiumPath finds Debian's chromium (installed by .ci/run).
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium on PATH: install it (apt-get install -y chromium), as .ci/run does")
	return ""
}

// outputDir is where failing browser tests leave their screenshots:
// $SLUICE_TEST_OUTPUT, or test-output/portal at the repository root.
func outputDir() string {
	if d := os.Getenv("SLUICE_TEST_OUTPUT"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "test-output", "portal")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newBrowser starts Chromium for the test; when the test fails, a
// full-page screenshot is saved under outputDir.
func newBrowser(t *testing.T, env *servertest.Env) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The test server's certificate comes from httptest's own CA.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &browser{t: t, ctx: ctx, env: env}
	if err := chromedp.Do(ctx); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return b
}

func (b *browser) screenshot() {
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot failed: %v", err)
		return
	}
	dir := outputDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name(), "_")+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failing page: %s", name)
}

// run runs chromedp actions and fails the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value and fails the test on error.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// url is the absolute URL of a portal path.
func (b *browser) url(path string) string { return b.env.URL + path }

// signIn signs in through the login form as a local user.
func (b *browser) signIn(user, password string) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(b.url("/portal/")),
		chromedp.WaitVisible(chromedp.ID(`#username`)),
		chromedp.SendKeys(chromedp.ID(`#username`), user),
		chromedp.SendKeys(chromedp.ID(`#password`), password),
		chromedp.Click(chromedp.ID(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	)
}

// signInAdmin signs in as the bootstrap administrator.
func (b *browser) signInAdmin() {
	b.t.Helper()
	if b.env.Server.InitialPassword == "" {
		b.t.Fatal("the test server has no initial administrator password")
	}
	b.signIn("admin", b.env.Server.InitialPassword)
}

// text returns the text content of the first node matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func TestBrowserSignInAndEnvironment(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)

	// A wrong password keeps the user on the sign-in page with an error.
	b.run("wrong password",
		chromedp.Navigate(b.url("/portal/environment")),
		chromedp.WaitVisible(chromedp.ID(`#username`)),
		chromedp.SendKeys(chromedp.ID(`#username`), "admin"),
		chromedp.SendKeys(chromedp.ID(`#password`), "not-the-password"),
		chromedp.Click(chromedp.ID(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
	)
	if got := b.text(`p.flash.error`); !strings.Contains(got, "incorrect") {
		t.Fatalf("error after a wrong password = %q", got)
	}

	b.signInAdmin()
	b.run("open the environment", chromedp.Navigate(b.url("/portal/environment")), chromedp.WaitVisible(chromedp.ID(`#tree`)))
	tree := b.text(`#tree`)
	for _, want := range []string{"Tenant Root Group", "Contoso Production", "Contoso Shared Services"} {
		if !strings.Contains(tree, want) {
			t.Errorf("environment tree lacks %q:\n%s", want, tree)
		}
	}
	subs := get(b, "count subscriptions", chromedp.Evaluate[int](`document.querySelectorAll('#tree li.sub').length`))
	if subs != 3 {
		t.Errorf("the demo has 3 subscriptions, the tree shows %d:\n%s", subs, tree)
	}

	// Signing out ends the session: the next page asks for a sign-in.
	b.run("sign out",
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID(`#username`)),
		chromedp.Navigate(b.url("/portal/environment")),
		chromedp.WaitVisible(chromedp.ID(`#username`)),
	)
}
