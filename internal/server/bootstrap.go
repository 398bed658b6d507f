package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
)

const kindMeta = "meta"

// bootstrap creates, once, the default tenant with its root group and a
// bootstrap administrator holding Owner at the root, records their ids in
// the store and mirrors them to <data>/bootstrap.json for `sluice token`.
func bootstrap(ctx context.Context, st store.Store, dir string, log *slog.Logger) (estate.Bootstrap, error) {
	var b estate.Bootstrap
	rec, err := st.Get(ctx, kindMeta, "bootstrap")
	switch {
	case err == nil:
		if err := json.Unmarshal(rec.Body, &b); err != nil {
			return b, fmt.Errorf("decode bootstrap record: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		b = estate.Bootstrap{TenantID: uuid.NewString(), AdminID: uuid.NewString()}
		body, _ := json.Marshal(b)
		err := st.Update(ctx, func(tx store.Tx) error {
			if err := estate.CreateTenant(ctx, tx, b.TenantID, "Default Directory"); err != nil {
				return err
			}
			if err := PutPrincipal(ctx, tx, &Principal{TenantID: b.TenantID, ObjectID: b.AdminID, DisplayName: "Bootstrap Administrator", Type: "User"}); err != nil {
				return err
			}
			ra := &auth.RoleAssignment{
				ID:               estate.GroupID(b.TenantID) + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString(),
				Scope:            estate.GroupID(b.TenantID),
				PrincipalID:      b.AdminID,
				TenantID:         b.TenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleOwner,
			}
			if err := auth.PutRoleAssignment(ctx, tx, ra); err != nil {
				return err
			}
			return tx.Put(ctx, &store.Record{Kind: kindMeta, Key: "bootstrap", ID: "bootstrap", Body: body})
		})
		if err != nil {
			return b, fmt.Errorf("bootstrap: %w", err)
		}
		log.Info("created the default tenant and bootstrap administrator", "tenant", b.TenantID, "admin", b.AdminID)
	default:
		return b, err
	}
	body, _ := json.MarshalIndent(b, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bootstrap.json"), append(body, '\n'), 0o600); err != nil {
		return b, fmt.Errorf("write bootstrap.json: %w", err)
	}
	return b, nil
}

// KindPrincipal is the store kind of registered principals.
const KindPrincipal = "principal"

// Principal is a registered user or service principal.
type Principal struct {
	TenantID    string `json:"tenantId"`
	ObjectID    string `json:"objectId"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
}

// PutPrincipal stores a principal.
func PutPrincipal(ctx context.Context, tx store.Tx, p *Principal) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	key := auth.PrincipalKey(p.TenantID, p.ObjectID)
	return tx.Put(ctx, &store.Record{Kind: KindPrincipal, Key: key, ID: key, Parent: p.TenantID, Body: body})
}
