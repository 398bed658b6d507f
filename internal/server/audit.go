package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/auth"
	"sluice/internal/portal"
	"sluice/internal/store"
)

// KindAudit is the store kind of audit entries.
const KindAudit = "audit"

// Audit log route and permission.
const (
	AuditPath       = "/providers/Sluice.Audit/events"
	AuditAPIVersion = "2024-01-01"
	PermAuditRead   = "Microsoft.Insights/eventtypes/values/read"
)

// AuditEntry is one write: who, what, when, from where, and the result.
type AuditEntry struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	TenantID      string    `json:"tenantId,omitempty"`
	PrincipalID   string    `json:"principalId,omitempty"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	APIVersion    string    `json:"apiVersion,omitempty"`
	Status        int       `json:"status"`
	ClientIP      string    `json:"clientIp"`
	CorrelationID string    `json:"correlationId,omitempty"`
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// audited records every write request (any method but GET, HEAD and
// OPTIONS) once answered, refused ones included. The token endpoint is
// left out: its requests carry client secrets, not a principal's write.
func (s *Server) audited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if strings.Contains(strings.ToLower(r.URL.Path), "/oauth2/") || strings.HasPrefix(r.URL.Path, portal.Prefix) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		e := &AuditEntry{ID: uuid.Must(uuid.NewV7()).String(), Time: time.Now().UTC(), Method: r.Method,
			Path: r.URL.Path, APIVersion: r.URL.Query().Get("api-version"), Status: rec.status,
			CorrelationID: w.Header().Get(armapi.HeaderCorrelationID)}
		if e.Status == 0 {
			e.Status = http.StatusOK
		}
		e.ClientIP = clientIP(r)
		if a, ok := s.Router.Authn.(*auth.Authenticator); ok && r.Header.Get("Authorization") != "" {
			if ctx, err := a.Authenticate(r); err == nil {
				if p := auth.FromContext(ctx); p != nil {
					e.TenantID, e.PrincipalID = p.TenantID, p.ObjectID
				}
			}
		}
		if err := s.writeAudit(context.WithoutCancel(r.Context()), e); err != nil {
			s.Log.Error("write audit entry", "method", e.Method, "path", e.Path, "err", err)
		}
	})
}

func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (s *Server) writeAudit(ctx context.Context, e *AuditEntry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, &store.Record{Kind: KindAudit, Key: e.ID, ID: e.ID, Parent: strings.ToLower(e.TenantID), Body: body})
	})
}

// registerAudit adds the audit log route: the caller's tenant's entries,
// oldest first, paged; since=RFC 3339 time skips older ones. Reading needs
// Microsoft.Insights/eventtypes/values/read at the tenant root (Reader).
func (s *Server) registerAudit() {
	s.Router.Handle(armapi.Route{Method: http.MethodGet, Pattern: AuditPath, APIVersions: []string{AuditAPIVersion},
		Permission: PermAuditRead, Scope: func(r *http.Request) string {
			if p := auth.FromContext(r.Context()); p != nil {
				return "/providers/Microsoft.Management/managementGroups/" + p.TenantID
			}
			return ""
		}, Handler: s.listAudit})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	p := auth.FromContext(r.Context())
	after := page.After
	if since := r.URL.Query().Get("since"); since != "" && after == "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return armapi.BadRequest("InvalidQueryParameterValue", "since %q is not an RFC 3339 time.", since)
		}
		// UUIDv7 keys sort by time: start before the first id of that instant.
		after = uuidV7Floor(t)
	}
	recs, err := s.Store.List(r.Context(), store.ListOptions{Kind: KindAudit, Parent: strings.ToLower(p.TenantID),
		After: after, Limit: page.Limit + 1})
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	last := ""
	if len(recs) > page.Limit {
		recs = recs[:page.Limit]
		last = recs[len(recs)-1].Key
	}
	items := make([]json.RawMessage, len(recs))
	for i, rec := range recs {
		items[i] = rec.Body
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

// uuidV7Floor is the smallest UUIDv7 text of instant t (for key ranges).
func uuidV7Floor(t time.Time) string {
	ms := uint64(t.UnixMilli())
	var u uuid.UUID
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70
	u[8] = 0x80
	s := u.String()
	// Keys sort as text: step back one so that "after" includes t itself.
	return s[:len(s)-1] + "/"
}
