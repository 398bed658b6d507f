// Package users keeps the local users of the built-in issuer: a login name
// mapped to a principal, with a salted PBKDF2-SHA256 password hash. The
// portal's sign-in page checks passwords here; `sluice password` resets
// them.
package users

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"sluice/internal/store"
)

// Kind is the store kind of local users.
const Kind = "localuser"

// Iterations is the PBKDF2 work factor of new hashes (OWASP's figure for
// PBKDF2-HMAC-SHA256). Stored hashes carry their own count.
const Iterations = 600_000

// ErrInvalidCredentials is returned for an unknown user or a wrong
// password alike, so a caller cannot tell which.
var ErrInvalidCredentials = errors.New("the user name or password is incorrect")

// User is a local user.
type User struct {
	Name        string `json:"name"`
	TenantID    string `json:"tenantId"`
	ObjectID    string `json:"objectId"`
	DisplayName string `json:"displayName"`
	// Hash is "pbkdf2-sha256$<iterations>$<salt>$<key>", base64 without
	// padding. It never leaves this package's store records.
	Hash string `json:"hash"`
}

// Key is the store key of a user name (names compare case-insensitively).
func Key(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Hash derives the stored form of password with a fresh salt and the
// default work factor.
func Hash(password string) (string, error) { return HashN(password, Iterations) }

// HashN is Hash with iter PBKDF2 iterations (at least MinIterations).
func HashN(password string, iter int) (string, error) {
	if iter < MinIterations {
		return "", fmt.Errorf("a password hash needs at least %d iterations, not %d", MinIterations, iter)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	return hashWith(password, salt, iter)
}

// MinIterations is the smallest work factor HashN accepts.
const MinIterations = 1000

func hashWith(password string, salt []byte, iter int) (string, error) {
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", fmt.Errorf("derive key: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// Verify reports whether password matches a stored hash.
func Verify(stored, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	got, err := hashWith(password, salt, iter)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
}

// NewPassword returns a random password of 20 URL-safe characters.
func NewPassword() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Get reads a user by name.
func Get(ctx context.Context, r store.Reader, name string) (*User, error) {
	rec, err := r.Get(ctx, Kind, Key(name))
	if err != nil {
		return nil, err
	}
	var u User
	if err := json.Unmarshal(rec.Body, &u); err != nil {
		return nil, fmt.Errorf("decode local user %q: %w", name, err)
	}
	return &u, nil
}

// Put stores a user.
func Put(ctx context.Context, tx store.Tx, u *User) error {
	body, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encode local user: %w", err)
	}
	k := Key(u.Name)
	return tx.Put(ctx, &store.Record{Kind: Kind, Key: k, ID: k, Parent: u.TenantID, Body: body})
}

// Service checks local users' passwords.
type Service struct {
	Store store.Store
}

// Authenticate returns the user whose name and password match, or
// ErrInvalidCredentials. An unknown name costs as much as a wrong password.
func (s *Service) Authenticate(ctx context.Context, name, password string) (*User, error) {
	u, err := Get(ctx, s.Store, name)
	if errors.Is(err, store.ErrNotFound) {
		Verify(dummyHash(), password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if !Verify(u.Hash, password) {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// dummyHash is verified for unknown names so that timing does not reveal
// which names exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := hashWith("", make([]byte, 16), Iterations)
	return h
})

// SetPassword gives an existing user a new random password and returns it.
func SetPassword(ctx context.Context, st store.Store, name string) (string, error) {
	pw, err := NewPassword()
	if err != nil {
		return "", err
	}
	h, err := Hash(pw)
	if err != nil {
		return "", err
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		u, err := Get(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("local user %q: %w", name, err)
		}
		u.Hash = h
		return Put(ctx, tx, u)
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}
