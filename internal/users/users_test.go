package users

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "pbkdf2-sha256$600000$") {
		t.Fatalf("hash %q lacks the algorithm and work factor", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	if !Verify(h, "correct horse") {
		t.Fatal("the right password is refused")
	}
	// The rest checks the format with a small work factor (fast under -race).
	h, _ = hashWith("correct horse", []byte("0123456789abcdef"), 1000)
	for _, wrong := range []string{"", "correct horse ", "Correct horse", "correct"} {
		if Verify(h, wrong) {
			t.Errorf("password %q accepted", wrong)
		}
	}
	h1, _ := hashWith("pw", nil, 1000)
	h2, _ := Hash("pw")
	if h1 == h2 || Verify(h2, "pw") == false {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "x", "pbkdf2-sha256$0$AA$AA", "pbkdf2-sha256$abc$AA$AA", "md5$1$AA$AA",
		"pbkdf2-sha256$1$!!$AA", "pbkdf2-sha256$99999999$AA$AA", "pbkdf2-sha256$1$AA$AA$AA"} {
		if Verify(bad, "") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("pbkdf2-sha256$1$AAAA$AAAA", "pw")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, stored, pw string) {
		if strings.Count(stored, "$") == 3 && strings.HasPrefix(stored, "pbkdf2-sha256$") {
			// Keep the work factor small so the fuzzer explores formats.
			parts := strings.Split(stored, "$")
			if len(parts[1]) > 3 {
				return
			}
		}
		Verify(stored, pw) // must not panic
	})
}

func TestServiceAndSetPassword(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, _ := HashN("first", MinIterations)
	u := &User{Name: "Alice", TenantID: "t1", ObjectID: "o1", DisplayName: "Alice A", Hash: h}
	if err := st.Update(ctx, func(tx store.Tx) error { return Put(ctx, tx, u) }); err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: st}
	got, err := svc.Authenticate(ctx, "ALICE", "first")
	if err != nil || got.ObjectID != "o1" {
		t.Fatalf("Authenticate(ALICE, first) = %+v, %v", got, err)
	}
	if _, err := svc.Authenticate(ctx, "alice", "second"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "bob", "first"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	pw, err := SetPassword(ctx, st, "alice")
	if err != nil || len(pw) < 20 {
		t.Fatalf("SetPassword = %q, %v", pw, err)
	}
	if _, err := svc.Authenticate(ctx, "alice", "first"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "alice", pw); err != nil {
		t.Fatalf("the new password is refused: %v", err)
	}
	if _, err := SetPassword(ctx, st, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword(nobody) = %v, want not found", err)
	}
}
