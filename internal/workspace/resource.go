package workspace

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/estate"
	"sluice/internal/store"
)

// ResourceType is the ARM type of a workspace.
const ResourceType = "Microsoft.OperationalInsights/workspaces"

// Kind is the store kind of workspace records (key: the lower-cased id;
// parent: the customer id).
const Kind = "workspace"

// Permissions of the workspace routes.
const (
	PermRead   = "Microsoft.OperationalInsights/workspaces/read"
	PermWrite  = "Microsoft.OperationalInsights/workspaces/write"
	PermDelete = "Microsoft.OperationalInsights/workspaces/delete"
)

// APIVersions accepted on the ARM routes: 2022-10-01 (the documented one),
// 2021-06-01 (armoperationalinsights v1), 2025-07-01 (v2) and the versions
// between that share the resource's shape.
var APIVersions = []string{"2020-08-01", "2020-10-01", "2021-06-01", "2021-12-01-preview", "2022-10-01", "2023-09-01", "2025-02-01", "2025-07-01"}

// Retention bounds, days.
const (
	DefaultRetentionDays = 30
	MinRetentionDays     = 4
	MaxRetentionDays     = 730
)

// Workspace is the ARM resource.
type Workspace struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Etag       string            `json:"etag,omitempty"`
	Properties Properties        `json:"properties"`
}

// Properties are the workspace properties Sluice keeps.
type Properties struct {
	CustomerID        string `json:"customerId"`
	ProvisioningState string `json:"provisioningState"`
	Sku               *Sku   `json:"sku,omitempty"`
	RetentionInDays   int    `json:"retentionInDays"`
	// DataCollectionRuleImmutableID addresses the workspace on the Logs
	// Ingestion API (Sluice's extension).
	DataCollectionRuleImmutableID   string `json:"dataCollectionRuleImmutableId"`
	PublicNetworkAccessForIngestion string `json:"publicNetworkAccessForIngestion"`
	PublicNetworkAccessForQuery     string `json:"publicNetworkAccessForQuery"`
	CreatedDate                     string `json:"createdDate,omitempty"`
	ModifiedDate                    string `json:"modifiedDate,omitempty"`
}

// Sku is the pricing tier (kept as given; PerGB2018 by default).
type Sku struct {
	Name string `json:"name"`
}

// DCRImmutableID is the data collection rule immutable id of a workspace.
func DCRImmutableID(customerID string) string {
	return "dcr-" + strings.ReplaceAll(strings.ToLower(customerID), "-", "")
}

// customerFromDCR reads the customer id back from a DCR immutable id.
func customerFromDCR(dcr string) (string, bool) {
	hex, ok := strings.CutPrefix(strings.ToLower(dcr), "dcr-")
	if !ok || len(hex) != 32 {
		return "", false
	}
	id, err := uuid.Parse(hex)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// ResourceGroups finds resource groups (estate.Service does).
type ResourceGroups interface {
	ResourceGroup(ctx context.Context, r store.Reader, sub, name string) (*estate.ResourceGroup, error)
}

// Service keeps workspaces and their databases.
type Service struct {
	Store  store.Store
	Estate ResourceGroups
	// Dir holds one database per workspace: <Dir>/<customerId>.db.
	Dir string
	Log *slog.Logger
	// MaxRows caps query results (kql.DefaultMaxRows when zero).
	MaxRows int
	// WaitUnit is the length of one second of Prefer: wait=N (tests shorten
	// it; zero means a second).
	WaitUnit time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu  sync.Mutex
	dbs map[string]*DB // by customer id
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Get returns a workspace by its ARM id.
func (s *Service) Get(ctx context.Context, id string) (*Workspace, error) {
	rec, err := s.Store.Get(ctx, Kind, armid.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return decode(rec)
}

func notFound(id string) error {
	name := id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		name = id[i+1:]
	}
	return armapi.NotFound("ResourceNotFound", "The Resource '%s/%s' was not found.", ResourceType, name)
}

func decode(rec *store.Record) (*Workspace, error) {
	var w Workspace
	if err := json.Unmarshal(rec.Body, &w); err != nil {
		return nil, fmt.Errorf("workspace %s: decode: %w", rec.ID, err)
	}
	w.Etag = rec.ETag
	return &w, nil
}

// ByCustomerID returns the workspace with a customer id.
func (s *Service) ByCustomerID(ctx context.Context, customerID string) (*Workspace, error) {
	id, err := uuid.Parse(customerID)
	if err != nil {
		return nil, errNoWorkspace
	}
	recs, err := s.Store.List(ctx, store.ListOptions{Kind: Kind, Parent: id.String(), Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNoWorkspace
	}
	return decode(recs[0])
}

// ByResourceID returns the workspace an ARM id names, or nil when this
// server does not host it.
func (s *Service) ByResourceID(ctx context.Context, id string) (*Workspace, error) {
	w, err := s.Get(ctx, id)
	var ae *armapi.Error
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, nil
	}
	return w, err
}

// List returns the workspaces whose key starts with prefix.
func (s *Service) List(ctx context.Context, prefix string) ([]*Workspace, error) {
	recs, err := s.Store.List(ctx, store.ListOptions{Kind: Kind, Prefix: prefix})
	if err != nil {
		return nil, err
	}
	out := make([]*Workspace, 0, len(recs))
	for _, r := range recs {
		w, err := decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// DB returns the open database of a workspace (opening it on first use).
func (s *Service) DB(customerID string) (*DB, error) {
	customerID = strings.ToLower(customerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.dbs[customerID]; ok {
		return d, nil
	}
	if _, err := uuid.Parse(customerID); err != nil {
		return nil, fmt.Errorf("workspace: bad customer id %q", customerID)
	}
	d, err := OpenDB(filepath.Join(s.Dir, customerID+".db"), customerID)
	if err != nil {
		return nil, err
	}
	if s.dbs == nil {
		s.dbs = map[string]*DB{}
	}
	s.dbs[customerID] = d
	return d, nil
}

// Close closes every open database.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for k, d := range s.dbs {
		errs = append(errs, d.Close())
		delete(s.dbs, k)
	}
	return errors.Join(errs...)
}

// putRequest is the body of a PUT.
type putRequest struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		Sku             *Sku   `json:"sku"`
		RetentionInDays *int   `json:"retentionInDays"`
		CustomerID      string `json:"customerId"`
	} `json:"properties"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)

// Put creates or updates a workspace in resource group rg of sub.
func (s *Service) Put(ctx context.Context, sub string, rg *estate.ResourceGroup, name string, body []byte) (*Workspace, bool, error) {
	if !nameRE.MatchString(name) {
		return nil, false, armapi.BadRequest("InvalidWorkspaceName",
			"The workspace name '%s' is invalid: 4 to 63 letters, digits or hyphens, starting and ending with a letter or digit.", name)
	}
	var req putRequest
	if err := armapi.Unmarshal(body, &req); err != nil {
		return nil, false, err
	}
	id := armid.ResourceGroupID(sub, rg.Name) + "/providers/" + ResourceType + "/" + name
	now := s.now().UTC().Format(time.RFC3339Nano)
	var out *Workspace
	created := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var w *Workspace
		rec, err := tx.Get(ctx, Kind, armid.Key(id))
		switch {
		case errors.Is(err, store.ErrNotFound):
			created = true
			w = &Workspace{ID: id, Name: name, Type: ResourceType, Properties: Properties{
				CustomerID: newGUID(), RetentionInDays: DefaultRetentionDays, Sku: &Sku{Name: "PerGB2018"}, CreatedDate: now}}
		case err != nil:
			return err
		default:
			if w, err = decode(rec); err != nil {
				return err
			}
		}
		w.Location = req.Location
		if w.Location == "" {
			w.Location = rg.Location
		}
		w.Tags = req.Tags
		if p := req.Properties; p != nil {
			if p.CustomerID != "" && !strings.EqualFold(p.CustomerID, w.Properties.CustomerID) {
				return armapi.BadRequest("InvalidParameter", "properties.customerId is read-only.")
			}
			if p.Sku != nil && p.Sku.Name != "" {
				w.Properties.Sku = p.Sku
			}
			if p.RetentionInDays != nil {
				if r := *p.RetentionInDays; r < MinRetentionDays || r > MaxRetentionDays {
					return armapi.BadRequest("InvalidParameter",
						"properties.retentionInDays must be between %d and %d; got %d.", MinRetentionDays, MaxRetentionDays, r)
				}
				w.Properties.RetentionInDays = *p.RetentionInDays
			}
		}
		w.Properties.ProvisioningState = "Succeeded"
		w.Properties.DataCollectionRuleImmutableID = DCRImmutableID(w.Properties.CustomerID)
		w.Properties.PublicNetworkAccessForIngestion = "Enabled"
		w.Properties.PublicNetworkAccessForQuery = "Enabled"
		w.Properties.ModifiedDate = now
		w.Etag = ""
		b, err := json.Marshal(w)
		if err != nil {
			return err
		}
		rec = &store.Record{Kind: Kind, Key: armid.Key(id), ID: id, Parent: w.Properties.CustomerID, Body: b}
		if err := tx.Put(ctx, rec); err != nil {
			return err
		}
		w.Etag = rec.ETag
		out = w
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if _, err := s.DB(out.Properties.CustomerID); err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// Delete removes a workspace and its data; it reports whether it existed.
func (s *Service) Delete(ctx context.Context, id string) (bool, error) {
	var w *Workspace
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(ctx, Kind, armid.Key(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if w, err = decode(rec); err != nil {
			return err
		}
		_, err = tx.Delete(ctx, Kind, armid.Key(id))
		return err
	})
	if err != nil || w == nil {
		return false, err
	}
	cid := strings.ToLower(w.Properties.CustomerID)
	s.mu.Lock()
	d := s.dbs[cid]
	delete(s.dbs, cid)
	s.mu.Unlock()
	if d != nil {
		d.Close()
	}
	for _, suffix := range []string{".db", ".db-wal", ".db-shm"} {
		if err := removeIfExists(filepath.Join(s.Dir, cid+suffix)); err != nil {
			s.log().Warn("remove workspace data", "workspace", id, "err", err)
		}
	}
	return true, nil
}

func newGUID() string {
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Prune removes, in every workspace, the rows older than its retention.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	all, err := s.List(ctx, "")
	if err != nil {
		return 0, err
	}
	var total int64
	for _, w := range all {
		d, err := s.DB(w.Properties.CustomerID)
		if err != nil {
			return total, err
		}
		days := w.Properties.RetentionInDays
		if days <= 0 {
			days = DefaultRetentionDays
		}
		n, err := d.Prune(ctx, s.now().Add(-time.Duration(days)*24*time.Hour))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// RunRetention prunes every interval until ctx ends.
func (s *Service) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("workspace retention", "err", err)
		} else if n > 0 {
			s.log().Info("removed rows past the workspaces' retention", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
