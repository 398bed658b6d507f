package export

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// APIVersions accepted on the delivery routes (those of automations).
var APIVersions = []string{"2019-01-01-preview", "2023-12-01-preview"}

// Permissions of the delivery routes.
const (
	PermRead  = "Microsoft.Security/automations/read"
	PermWrite = "Microsoft.Security/automations/write"
)

// API serves the delivery routes under an automation: health, dead
// letters and their replay, and backfill.
type API struct {
	Engine *Engine
	Store  store.Store
	// Snapshots produces current state for backfills.
	Snapshots Snapshotter
}

const automationPath = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}"

// Register adds the routes.
func (a *API) Register(rt *armapi.Router) {
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: automationPath + "/deliveryHealth", APIVersions: APIVersions, Permission: PermRead, Handler: a.health})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: automationPath + "/deadLetters", APIVersions: APIVersions, Permission: PermRead, Handler: a.deadLetters})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: automationPath + "/deadLetters/replay", APIVersions: APIVersions, Permission: PermWrite, Handler: a.replayAll})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: automationPath + "/deadLetters/{deadLetterId}/replay", APIVersions: APIVersions, Permission: PermWrite, Handler: a.replayOne})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: automationPath + "/backfill", APIVersions: APIVersions, Permission: PermWrite, Handler: a.backfill})
}

// automation resolves the automation of the request path.
func (a *API) automation(r *http.Request) (*Export, error) {
	id := armid.ResourceGroupID(r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")) +
		"/providers/Microsoft.Security/automations/" + r.PathValue("automationName")
	key := armid.Key(id)
	a.Engine.mu.RLock()
	x := a.Engine.targets[key]
	a.Engine.mu.RUnlock()
	if x == nil {
		return nil, armapi.NotFound("ResourceNotFound", "The automation '%s' was not found.", r.PathValue("automationName"))
	}
	return x, nil
}

type healthJSON struct {
	ID         string          `json:"id"`
	IsEnabled  bool            `json:"isEnabled"`
	Actions    []*actionHealth `json:"actions"`
	ObservedAt time.Time       `json:"observedAt"`
}

type actionHealth struct {
	Index int `json:"actionIndex"`
	*ActionHealth
}

func (a *API) health(w http.ResponseWriter, r *http.Request) error {
	x, err := a.automation(r)
	if err != nil {
		return err
	}
	hs, err := a.Engine.Health(r.Context(), x.Key)
	if err != nil {
		return err
	}
	out := healthJSON{ID: x.ID, IsEnabled: x.Enabled, Actions: []*actionHealth{}, ObservedAt: a.Engine.now().UTC()}
	for i, h := range hs {
		out.Actions = append(out.Actions, &actionHealth{Index: i, ActionHealth: h})
	}
	armapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

type deadLetterJSON struct {
	ID          string          `json:"id"`
	ActionIndex int             `json:"actionIndex"`
	EventID     string          `json:"eventId"`
	EventSource string          `json:"eventSource"`
	Sequence    int64           `json:"sequence"`
	Reason      string          `json:"reason"`
	Attempts    int             `json:"attempts"`
	FailedAt    time.Time       `json:"failedAt"`
	Event       json.RawMessage `json:"event"`
}

func actionIndex(key string) int {
	i := strings.LastIndex(key, "/actions/")
	n, _ := strconv.Atoi(key[i+len("/actions/"):])
	return n
}

func renderDeadLetter(d *store.DeadLetter) deadLetterJSON {
	ev := json.RawMessage(d.Body)
	if !json.Valid(d.Body) {
		ev, _ = json.Marshal(string(d.Body))
	}
	return deadLetterJSON{ID: strconv.FormatInt(d.ID, 10), ActionIndex: actionIndex(d.Action), EventID: d.EventID, EventSource: d.Source,
		Sequence: d.Seq, Reason: d.Reason, Attempts: d.Attempts, FailedAt: d.FailedAt, Event: ev}
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request) error {
	x, err := a.automation(r)
	if err != nil {
		return err
	}
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	var after int64
	if page.After != "" {
		if after, err = strconv.ParseInt(page.After, 10, 64); err != nil {
			return armapi.BadRequest("InvalidSkipToken", "The $skipToken value is malformed.")
		}
	}
	actions := x.Actions
	if v := r.URL.Query().Get("actionIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= len(x.Actions) {
			return armapi.BadRequest("InvalidQueryParameterValue", "actionIndex must be between 0 and %d.", len(x.Actions)-1)
		}
		actions = x.Actions[n : n+1]
	}
	// Dead letter ids are global and increasing: merge the actions' lists.
	var all []*store.DeadLetter
	for _, act := range actions {
		ds, err := a.Store.DeadLetters(r.Context(), act.Key, after, page.Limit+1)
		if err != nil {
			return err
		}
		all = append(all, ds...)
	}
	sortDeadLetters(all)
	items := []json.RawMessage{}
	last := ""
	for i, d := range all {
		if i == page.Limit {
			last = strconv.FormatInt(all[i-1].ID, 10)
			break
		}
		b, _ := json.Marshal(renderDeadLetter(d))
		items = append(items, b)
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

func sortDeadLetters(ds []*store.DeadLetter) {
	slices.SortFunc(ds, func(a, b *store.DeadLetter) int { return cmp.Compare(a.ID, b.ID) })
}

func (a *API) replayOne(w http.ResponseWriter, r *http.Request) error {
	x, err := a.automation(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("deadLetterId"), 10, 64)
	if err != nil || id <= 0 {
		return armapi.BadRequest("InvalidDeadLetterId", "The dead letter id '%s' is not a positive integer (use an id from the deadLetters list).", r.PathValue("deadLetterId"))
	}
	d, err := a.Store.DeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && AutomationKeyOf(d.Action) != x.Key) {
		return armapi.NotFound("DeadLetterNotFound", "The dead letter '%d' was not found under this automation.", id)
	}
	if err != nil {
		return err
	}
	if err := a.Engine.Replay(r.Context(), d); err != nil {
		if errors.Is(err, ErrAlreadyReplayed) {
			return armapi.NotFound("DeadLetterNotFound", "The dead letter '%d' was already replayed.", id)
		}
		return err
	}
	armapi.WriteJSON(w, http.StatusAccepted, map[string]any{"replayed": 1})
	return nil
}

// maxReplayAll bounds one replay-all call; call again for more.
const maxReplayAll = 10000

func (a *API) replayAll(w http.ResponseWriter, r *http.Request) error {
	x, err := a.automation(r)
	if err != nil {
		return err
	}
	n := 0
	for _, act := range x.Actions {
		var after int64
		for n < maxReplayAll {
			ds, err := a.Store.DeadLetters(r.Context(), act.Key, after, min(500, maxReplayAll-n))
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				after = d.ID
				if err := a.Engine.Replay(r.Context(), d); err != nil && !errors.Is(err, ErrAlreadyReplayed) {
					return fmt.Errorf("replay %d: %w", d.ID, err)
				}
				n++
			}
		}
	}
	armapi.WriteJSON(w, http.StatusAccepted, map[string]any{"replayed": n})
	return nil
}

func (a *API) backfill(w http.ResponseWriter, r *http.Request) error {
	x, err := a.automation(r)
	if err != nil {
		return err
	}
	if !x.Enabled {
		return armapi.Errorf(http.StatusConflict, "AutomationDisabled", "The automation '%s' is disabled; enable it before a backfill.", r.PathValue("automationName"))
	}
	if a.Snapshots == nil {
		return armapi.Errorf(http.StatusServiceUnavailable, "BackfillUnavailable", "No security state is available to backfill from.")
	}
	counts, err := a.Engine.Backfill(r.Context(), a.Snapshots, x.Key)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	armapi.WriteJSON(w, http.StatusAccepted, map[string]any{"queued": total, "bySource": counts})
	return nil
}
