package workspace

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/kql"
	"sluice/internal/latables"
)

// MaxUploadBytes is the Logs Ingestion API's cap on one call's body (1 MB,
// before and after decompression).
const MaxUploadBytes = 1 << 20

// TableForStream maps a Logs Ingestion stream to its table:
// Custom-<Table>_CL (the streams of the rule Sluice ships),
// Custom-<Table>, Microsoft-<Table> or the table name itself.
func TableForStream(stream string) (*latables.Table, bool) {
	name := stream
	for _, p := range []string{"Custom-", "Microsoft-"} {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) {
			name = name[len(p):]
			break
		}
	}
	return latables.Lookup(name)
}

func tooLarge() error {
	return armapi.Errorf(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded",
		"Maximum allowed content length: %d bytes (1 MB).", MaxUploadBytes)
}

// readLimited reads at most limit bytes of rd, reporting whether more followed.
func readLimited(rd io.Reader, limit int) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(rd, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	return b, len(b) > limit, nil
}

func (h *Handlers) ingest(w http.ResponseWriter, r *http.Request) error {
	dcr := r.PathValue("dcrImmutableId")
	cid, ok := customerFromDCR(dcr)
	var ws *Workspace
	var err error
	if ok {
		ws, err = h.Svc.ByCustomerID(r.Context(), cid)
	}
	if !ok || errors.Is(err, errNoWorkspace) {
		return armapi.NotFound("NotFound", "Data collection rule %s was not found.", dcr)
	} else if err != nil {
		return err
	}
	stream := r.PathValue("stream")
	table, ok := TableForStream(stream)
	if !ok {
		return armapi.BadRequest("InvalidStream", "Stream %s is not declared in data collection rule %s; streams are Custom-<Table>_CL for the tables %s.",
			stream, dcr, strings.Join(tableNames(), ", "))
	}
	if r.ContentLength > MaxUploadBytes {
		return tooLarge()
	}
	wire, over, err := readLimited(r.Body, MaxUploadBytes)
	if err != nil {
		return armapi.BadRequest("InvalidContent", "The body could not be read.")
	}
	if over {
		return tooLarge()
	}
	body := wire
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return armapi.BadRequest("InvalidContentEncoding", "The body is not valid gzip.")
		}
		body, over, err = readLimited(zr, MaxUploadBytes)
		if err != nil {
			return armapi.BadRequest("InvalidContentEncoding", "The body is not valid gzip.")
		}
		if over {
			return tooLarge()
		}
	default:
		return armapi.BadRequest("InvalidContentEncoding", "Content-Encoding %q is not supported.", enc)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return armapi.Errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json.")
	}
	var recs []map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&recs); err != nil {
		return armapi.BadRequest("InvalidPayload", "The body must be a JSON array of objects: %v", err)
	}
	now := h.Svc.now().UTC()
	rows := make([][]any, len(recs))
	for i, rec := range recs {
		rows[i] = RowFromJSON(table, rec, now)
	}
	db, err := h.Svc.DB(ws.Properties.CustomerID)
	if err != nil {
		return err
	}
	if err := db.Insert(r.Context(), table.Name, rows); err != nil {
		return fmt.Errorf("write %d rows to %s: %w", len(rows), table.Name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func tableNames() []string {
	var out []string
	for _, t := range latables.Tables() {
		out = append(out, t.Name)
	}
	return out
}

// RowFromJSON converts one uploaded record to a row of table the way Log
// Analytics ingests: columns are matched by name (exactly, else ignoring
// case), unknown fields are dropped, a value that does not convert to the
// column's type becomes null, strings take non-string values as their JSON
// text, and a missing TimeGenerated is the ingestion time.
func RowFromJSON(table *latables.Table, rec map[string]json.RawMessage, now time.Time) []any {
	row := make([]any, len(table.Columns))
	folded := map[string]json.RawMessage{}
	for k, v := range rec {
		folded[strings.ToLower(k)] = v
	}
	for i, c := range table.Columns {
		raw, ok := rec[c.Name]
		if !ok {
			raw, ok = folded[strings.ToLower(c.Name)]
		}
		if !ok {
			continue
		}
		row[i] = convert(kql.Type(c.Type), raw)
	}
	if i := table.Index("TimeGenerated"); i >= 0 && row[i] == nil {
		row[i] = now
	}
	return row
}

func convert(t kql.Type, raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var str string
	isStr := raw[0] == '"' && json.Unmarshal(raw, &str) == nil
	switch t {
	case kql.String:
		if isStr {
			return str
		}
		return string(raw)
	case kql.Int, kql.Long:
		s := string(raw)
		if isStr {
			s = strings.TrimSpace(str)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1<<63 {
			return int64(f)
		}
	case kql.Real:
		s := string(raw)
		if isStr {
			s = strings.TrimSpace(str)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
	case kql.Bool:
		s := string(raw)
		if isStr {
			s = strings.TrimSpace(str)
		}
		switch strings.ToLower(s) {
		case "true", "1":
			return true
		case "false", "0":
			return false
		}
	case kql.DateTime:
		if isStr {
			if ts, err := parseInstant(strings.TrimSpace(str)); err == nil {
				return ts
			}
		}
	case kql.Dynamic:
		if isStr {
			// A string holding JSON is stored as that JSON, as Log
			// Analytics parses dynamic columns sent as text.
			if json.Valid([]byte(str)) {
				return json.RawMessage(str)
			}
		}
		var c bytes.Buffer
		if json.Compact(&c, raw) == nil {
			return json.RawMessage(c.Bytes())
		}
	}
	return nil
}
