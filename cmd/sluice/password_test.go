package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"sluice/internal/config"
	"sluice/internal/server"
	"sluice/internal/store/sqlite"
	"sluice/internal/users"
)

// newDataDir starts a server once on a fresh data directory (creating the
// tenant, the administrator and their first password) and closes it.
func newDataDir(t *testing.T) (dir, firstPassword string) {
	t.Helper()
	cfg := config.Default()
	cfg.Data, cfg.Addr, cfg.Store.Synchronous, cfg.Auth.PasswordIterations = t.TempDir(), "127.0.0.1:0", "NORMAL", 1000
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	pw := srv.InitialPassword
	srv.Store.Close()
	if pw == "" {
		t.Fatal("the first start printed no administrator password")
	}
	return cfg.Data, pw
}

// authenticate checks a password against the data directory's store.
func authenticate(t *testing.T, dir, user, password string) error {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()
	_, err = (&users.Service{Store: st}).Authenticate(context.Background(), user, password)
	return err
}

// Each password hash costs 600,000 PBKDF2 rounds (seconds under -race), so
// one data directory serves every case and each check hashes only once.
func TestPassword(t *testing.T) {
	dir, first := newDataDir(t)
	var out, errOut bytes.Buffer
	reset := func(args ...string) int {
		out.Reset()
		errOut.Reset()
		return run(append([]string{"password", "--data", dir}, args...), &out, &errOut)
	}

	// An unknown user: a clear error, nothing printed, nothing changed.
	if code := reset("--user", "nobody"); code == 0 || out.Len() != 0 {
		t.Fatalf("unknown user: exit %d, stdout %q", code, out.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, `local user "nobody"`) || !strings.Contains(msg, "not found") {
		t.Errorf("unknown user: message %q does not say which user is missing", msg)
	}
	if code := reset("extra"); code == 0 || !strings.Contains(errOut.String(), `unexpected argument "extra"`) {
		t.Errorf("extra argument: exit %d, %q", code, errOut.String())
	}
	if err := authenticate(t, dir, "admin", first); err != nil {
		t.Fatalf("after failed resets the first password does not authenticate: %v", err)
	}

	// The reset prints a new password that authenticates; the old one no
	// longer does. --user ignores case, as sign-in does.
	if code := reset("--user", "Admin"); code != 0 {
		t.Fatalf("sluice password: exit %d: %s", code, errOut.String())
	}
	pw := strings.TrimSpace(out.String())
	if pw == "" || strings.ContainsAny(pw, " \n") || pw == first {
		t.Fatalf("sluice password printed %q", out.String())
	}
	if err := authenticate(t, dir, "admin", pw); err != nil {
		t.Fatalf("the new password does not authenticate: %v", err)
	}
	if err := authenticate(t, dir, "admin", first); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Fatalf("the old password still works (err %v)", err)
	}

	// A data directory no server has used: an error, no password.
	out.Reset()
	errOut.Reset()
	if code := run([]string{"password", "--data", t.TempDir()}, &out, &errOut); code == 0 || out.Len() != 0 || errOut.Len() == 0 {
		t.Fatalf("data directory never served: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
