// Package secrets encrypts write-only secrets (connection strings, trigger
// URIs, passwords) at rest with AES-256-GCM under a key kept in the data
// directory, and redacts them from text that leaves the process.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
}

const prefix = "enc:v1:"

// LoadOrCreate reads the 32-byte key from dir/keys/secrets.key, creating it
// with mode 0600 on first use.
func LoadOrCreate(dir string) (*Box, error) {
	path := filepath.Join(dir, "keys", "secrets.key")
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate secrets key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create key directory: %w", err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, key, 0o600); err != nil {
			return nil, fmt.Errorf("write secrets key: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("write secrets key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	return New(key)
}

// New builds a Box from a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the result is printable ("enc:v1:…"). The empty
// string seals to "".
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("open secret: not a sealed value")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil {
		return "", errors.New("open secret: malformed")
	}
	n := b.aead.NonceSize()
	if len(raw) < n {
		return "", errors.New("open secret: too short")
	}
	pt, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("open secret: authentication failed (wrong key or tampered value)")
	}
	return string(pt), nil
}

// Redacted is what replaces a secret in text.
const Redacted = "[REDACTED]"

var patterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(SharedAccessKey|SharedAccessSignature|AccountKey|Password|ClientSecret)=[^;"'\s]+`),
	regexp.MustCompile(`(?i)([?&](sig|sv|sp|se|code|token|key)=)[^&"'\s]+`),
	regexp.MustCompile(`(?i)(Bearer\s+)[A-Za-z0-9\-_.=]+`),
}

// Redact removes every known secret from s: the given literal secrets, and
// anything that looks like a key, signature or bearer token.
func Redact(s string, known ...string) string {
	for _, k := range known {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, Redacted)
		}
	}
	s = patterns[0].ReplaceAllString(s, "${1}="+Redacted)
	s = patterns[1].ReplaceAllString(s, "${1}"+Redacted)
	s = patterns[2].ReplaceAllString(s, "${1}"+Redacted)
	return s
}
