package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sluice/internal/ingest"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

// kvRecord is a line of the test record type: {"type":"kv","id":…,"fail":…}.
// fail "before" fails before writing, "after" after writing the record.
type kvRecord struct {
	ID   string `json:"id"`
	Fail string `json:"fail"`
}

type kvLine struct{ r kvRecord }

func (l *kvLine) ID() string                      { return l.r.ID }
func (l *kvLine) Authorization() (string, string) { return "kv/write", "/" }

// kvBatch is an Optimistic batch over the real store: it writes one
// record and one event per line, without a savepoint unless isolated.
type kvBatch struct {
	tx       store.Tx
	isolated bool
	log      *[]string
}

func (b *kvBatch) Isolate() { b.isolated = true }

func (b *kvBatch) write(ctx context.Context, tx store.Tx, r kvRecord) error {
	if r.Fail == "before" {
		return errors.New("refused before writing")
	}
	if err := tx.Put(ctx, &store.Record{Kind: "kv", Key: r.ID, ID: r.ID, Body: []byte(`{}`)}); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, &store.Event{ID: "ev-" + r.ID, Source: "kv", Body: []byte(`{}`)}); err != nil {
		return err
	}
	if r.Fail == "after" {
		return errors.New("refused after writing")
	}
	return nil
}

func (b *kvBatch) Apply(ctx context.Context, rec ingest.Record) error {
	r := rec.(*kvLine).r
	mode := "direct"
	if b.isolated {
		mode = "isolated"
	}
	*b.log = append(*b.log, mode+":"+r.ID)
	if b.isolated {
		return b.tx.Savepoint(ctx, func(tx store.Tx) error { return b.write(ctx, tx, r) })
	}
	err := b.write(ctx, b.tx, r)
	if err != nil && r.Fail == "after" {
		return fmt.Errorf("%w: %w", ingest.ErrRollback, err)
	}
	return err
}

func (b *kvBatch) Finish(context.Context) error { return nil }

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string) error { return nil }

func newIngestor(t *testing.T, log *[]string) (*ingest.Ingestor, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &ingest.Ingestor{
		Store: st,
		Parsers: map[string]ingest.Parser{"kv": func(line []byte) (ingest.Record, error) {
			l := &kvLine{}
			if err := json.Unmarshal(line, &l.r); err != nil {
				return nil, err
			}
			return l, nil
		}},
		NewBatch: func(tx store.Tx, now time.Time) ingest.Batch { return &kvBatch{tx: tx, log: log} },
		Authz:    allowAll{},
	}, st
}

func stored(t *testing.T, st store.Store) []string {
	t.Helper()
	recs, err := st.List(context.Background(), store.ListOptions{Kind: "kv"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Key)
	}
	evs, err := st.Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestOptimisticBatch: records of an Optimistic batch run without
// savepoints; one failing before it writes is rejected alone in the same
// attempt; one failing after it wrote makes the Ingestor roll the attempt
// back and apply everything again isolated, so that nothing of it remains
// and the others are committed once.
func TestOptimisticBatch(t *testing.T) {
	ctx := context.Background()
	t.Run("rejected before writing", func(t *testing.T) {
		var log []string
		in, st := newIngestor(t, &log)
		res, err := in.Ingest(ctx, []byte(`{"type":"kv","id":"a"}
{"type":"kv","id":"b","fail":"before"}
{"type":"kv","id":"c"}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || res.Rejected != 1 || res.Results[1].Status != ingest.StatusRejected {
			t.Fatalf("result %+v", res)
		}
		if got, want := strings.Join(log, " "), "direct:a direct:b direct:c"; got != want {
			t.Errorf("applied %s, want %s (one optimistic attempt)", got, want)
		}
		if got, want := strings.Join(stored(t, st), " "), "a c ev-a ev-c"; got != want {
			t.Errorf("stored %s, want %s", got, want)
		}
	})
	t.Run("rejected after writing", func(t *testing.T) {
		var log []string
		in, st := newIngestor(t, &log)
		res, err := in.Ingest(ctx, []byte(`{"type":"kv","id":"a"}
{"type":"kv","id":"b","fail":"after"}
{"type":"kv","id":"c","fail":"before"}
{"type":"kv","id":"d"}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || res.Rejected != 2 {
			t.Fatalf("result %+v", res)
		}
		for i, want := range []string{ingest.StatusAccepted, ingest.StatusRejected, ingest.StatusRejected, ingest.StatusAccepted} {
			r := res.Results[i]
			if r.Status != want || r.Line != i+1 {
				t.Errorf("line %d: %+v, want %s", i+1, r, want)
			}
			if want == ingest.StatusRejected && r.Error == nil {
				t.Errorf("line %d: error %+v", i+1, r.Error)
			}
		}
		if got, want := strings.Join(log, " "), "direct:a direct:b isolated:a isolated:b isolated:c isolated:d"; got != want {
			t.Errorf("applied %s, want %s", got, want)
		}
		if got, want := strings.Join(stored(t, st), " "), "a d ev-a ev-d"; got != want {
			t.Errorf("stored %s, want %s", got, want)
		}
	})
}

// TestLargeRequest: a request of many lines, some blank, some malformed,
// some rejected, answers one result per non-blank line, in order, with the
// right line numbers, and commits exactly the accepted lines.
func TestLargeRequest(t *testing.T) {
	var log []string
	in, st := newIngestor(t, &log)
	var body strings.Builder
	want := []ingest.LineResult{}
	line := 0
	for i := range 1000 {
		if i%50 == 0 {
			body.WriteString("\n") // a blank line keeps its number
			line++
		}
		line++
		switch {
		case i%13 == 0:
			body.WriteString(`{"type":"kv","id":` + "\n")
			want = append(want, ingest.LineResult{Line: line, Status: ingest.StatusRejected})
			continue
		case i%7 == 0:
			fmt.Fprintf(&body, `{"type":"kv","id":"k%04d","fail":"before"}`+"\n", i)
			want = append(want, ingest.LineResult{Line: line, Status: ingest.StatusRejected, ID: fmt.Sprintf("k%04d", i)})
		default:
			fmt.Fprintf(&body, `{"type":"kv","id":"k%04d"}`+"\n", i)
			want = append(want, ingest.LineResult{Line: line, Status: ingest.StatusAccepted, ID: fmt.Sprintf("k%04d", i)})
		}
	}
	res, err := in.Ingest(context.Background(), []byte(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(res.Results), len(want))
	}
	accepted := 0
	for i, w := range want {
		r := res.Results[i]
		if r.Line != w.Line || r.Status != w.Status || r.ID != w.ID || (r.Status == ingest.StatusRejected) != (r.Error != nil) {
			t.Fatalf("result %d: %+v, want %+v", i, r, w)
		}
		if w.Status == ingest.StatusAccepted {
			accepted++
		}
	}
	if res.Accepted != accepted || res.Rejected != len(want)-accepted {
		t.Errorf("accepted %d rejected %d, want %d and %d", res.Accepted, res.Rejected, accepted, len(want)-accepted)
	}
	n, err := st.Count(context.Background(), store.ListOptions{Kind: "kv"})
	if err != nil || n != accepted {
		t.Errorf("stored %d records (%v), want %d", n, err, accepted)
	}
}

// resultOf builds a result whose strings are taken from ss.
func resultOf(ss ...string) *ingest.Result {
	r := &ingest.Result{Accepted: 2, Rejected: len(ss), Results: []ingest.LineResult{}}
	r.Results = append(r.Results, ingest.LineResult{Line: 1, Status: ingest.StatusAccepted, ID: "/subscriptions/x/a"}, ingest.LineResult{Line: 2, Status: ingest.StatusAccepted})
	for i, s := range ss {
		r.Results = append(r.Results, ingest.LineResult{Line: i + 3, Status: ingest.StatusRejected, ID: s,
			Error: &ingest.LineErrorOut{Code: "Bad" + s, Message: "The value '" + s + "' is wrong.", Target: s}})
	}
	return r
}

func TestResultAppendJSON(t *testing.T) {
	for _, r := range []*ingest.Result{
		{Results: []ingest.LineResult{}},
		resultOf(),
		resultOf("plain", `quote " and \ backslash`, "<html> & more", "tab\tnewline\n", "é ünïcode ✓", "\u2028\u2029", "bad utf8 \xff\xfe", ""),
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

// FuzzResultAppendJSON checks that the hand-written encoding equals
// encoding/json's for any strings.
func FuzzResultAppendJSON(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "<>&", "\x00\x1f", "\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := resultOf(s, s+s)
		want, _ := json.Marshal(r)
		if got := r.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON:\n%q\nencoding/json:\n%q", got, want)
		}
	})
}
