package cybervault

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Object is an API object as the server sent it. Fields a newer server adds are never lost; read them
// with the accessors, or Decode the object into a struct of your own.
type Object map[string]any

// ID is the object's id ("" when it has none).
func (o Object) ID() string { return o.String("id") }

// Get follows a dot path: "findings.0.cve", "data.object.id". ok is false when a step is missing.
func (o Object) Get(path string) (any, bool) {
	var current any = map[string]any(o)
	for _, part := range strings.Split(path, ".") {
		switch v := current.(type) {
		case map[string]any:
			next, ok := v[part]
			if !ok {
				return nil, false
			}
			current = next
		case Object:
			next, ok := v[part]
			if !ok {
				return nil, false
			}
			current = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			current = v[i]
		default:
			return nil, false
		}
	}
	return current, true
}

// String is the string at path ("" when absent or not a string).
func (o Object) String(path string) string {
	v, _ := o.Get(path)
	s, _ := v.(string)
	return s
}

// Int is the integer at path (0 when absent).
func (o Object) Int(path string) int64 {
	v, _ := o.Get(path)
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

// Bool is the boolean at path (false when absent).
func (o Object) Bool(path string) bool {
	v, _ := o.Get(path)
	b, _ := v.(bool)
	return b
}

// Decode copies the object into target (a pointer to a struct with json tags).
func (o Object) Decode(target any) error {
	raw, err := json.Marshal(map[string]any(o))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, target)
}

// Finding is one result of a scan.
type Finding struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Severity string `json:"severity"`
	Details  string `json:"details"`
	CVE      string `json:"cve"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Status   string `json:"status"`
}

// Scan is a threat scan; Raw keeps every field the server sent.
type Scan struct {
	ID           string    `json:"id"`
	ScanID       string    `json:"scan_id"`
	Status       string    `json:"status"`
	ThreatsFound int       `json:"threats_found"`
	Findings     []Finding `json:"findings"`
	Timestamp    string    `json:"timestamp"`
	Livemode     bool      `json:"livemode"`
	Raw          Object    `json:"-"`
}

// Finished reports whether the scan completed, failed or was canceled.
func (s *Scan) Finished() bool {
	return s.Status == "completed" || s.Status == "failed" || s.Status == "canceled"
}

func scanFrom(o Object) (*Scan, error) {
	s := &Scan{}
	if err := o.Decode(s); err != nil {
		return nil, err
	}
	s.Raw = o
	if s.ScanID == "" {
		s.ScanID = s.ID
	}
	return s, nil
}
