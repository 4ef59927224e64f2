package cybervault_test

// The Go runner for sdks/conformance/scenario.json (step format: sdks/conformance/README.md). Every request
// goes through the SDK (RawRequest, and List for paging) so the scenario checks its auth, errors and paging.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	cybervault "github.com/cybervault/sdk-go"
)

type step struct {
	Name     string            `json:"name"`
	Key      string            `json:"key"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Query    map[string]any    `json:"query"`
	Body     map[string]any    `json:"body"`
	Expect   map[string]any    `json:"expect"`
	Save     map[string]string `json:"save"`
	Paginate *struct {
		Limit int `json:"limit"`
	} `json:"paginate"`
}

var varPattern = regexp.MustCompile(`\{\{(\w+)\}\}`)

type unresolved struct{ name string }

func substitute(v any, vars map[string]string) any {
	switch x := v.(type) {
	case string:
		return varPattern.ReplaceAllStringFunc(x, func(m string) string {
			name := varPattern.FindStringSubmatch(m)[1]
			value, ok := vars[name]
			if !ok {
				panic(unresolved{name})
			}
			return value
		})
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = substitute(item, vars)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, item := range x {
			out[substitute(k, vars).(string)] = substitute(item, vars)
		}
		return out
	}
	return v
}

type runner struct {
	baseURL string
	keys    map[string]string
	vars    map[string]string
	routes  []*regexp.Regexp
	clients map[string]*cybervault.Client
}

func (r *runner) client(t *testing.T, name string) *cybervault.Client {
	if c, ok := r.clients[name]; ok {
		return c
	}
	c, err := cybervault.NewClient(cybervault.WithAPIKey(r.keys[name]), cybervault.WithBaseURL(r.baseURL), cybervault.WithMaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	r.clients[name] = c
	return c
}

func (r *runner) published(path string) bool {
	for _, re := range r.routes {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// resolve substitutes the variables into a step; ok is false when a skipped step should have saved one.
func (r *runner) resolve(s step) (resolved step, name string, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			u, isUnresolved := p.(unresolved)
			if !isUnresolved {
				panic(p)
			}
			name, ok = u.name, false
		}
	}()
	resolved = s
	resolved.Path = substitute(s.Path, r.vars).(string)
	if s.Query != nil {
		resolved.Query = substitute(s.Query, r.vars).(map[string]any)
	}
	if s.Body != nil {
		resolved.Body = substitute(s.Body, r.vars).(map[string]any)
	}
	if s.Expect != nil {
		resolved.Expect = substitute(s.Expect, r.vars).(map[string]any)
	}
	return resolved, "", true
}

var errorKinds = map[cybervault.Kind]string{
	cybervault.KindAuthentication: "authentication", cybervault.KindPermission: "permission",
	cybervault.KindNotFound: "not_found", cybervault.KindInvalidRequest: "invalid_request",
	cybervault.KindConflict: "conflict", cybervault.KindRateLimit: "rate_limit", cybervault.KindAPI: "api",
	cybervault.KindConnection: "connection",
}

func (r *runner) request(t *testing.T, s step) []string {
	var status float64
	var body any
	errorType := ""
	query := cybervault.Params{}
	for k, v := range s.Query {
		query[k] = v
	}
	var reqBody any
	if s.Body != nil {
		reqBody = s.Body
	}
	resp, err := r.client(t, s.Key).RawRequest(context.Background(), s.Method, s.Path, query, reqBody)
	var cvErr *cybervault.Error
	switch {
	case err == nil:
		status, body = float64(resp.StatusCode), resp.Body
	case errors.As(err, &cvErr):
		status, body, errorType = float64(cvErr.HTTPStatus), map[string]any(cvErr.Body), errorKinds[cvErr.Kind]
	default:
		t.Fatalf("%s: not an SDK error: %v", s.Name, err)
	}
	var problems []string
	if want, ok := s.Expect["status"]; ok && want != status {
		raw, _ := json.Marshal(body)
		return []string{fmt.Sprintf("status %v, expected %v (body %.300s)", status, want, raw)}
	}
	if want, ok := s.Expect["error_type"]; ok && want != errorType {
		problems = append(problems, fmt.Sprintf("SDK error type %q, expected %v", errorType, want))
	}
	fields, _ := s.Expect["fields"].(map[string]any)
	for path, want := range fields {
		if reason := matches(lookup(body, path), want); reason != "" {
			problems = append(problems, fmt.Sprintf("field %s: %s", path, reason))
		}
	}
	for name, path := range s.Save {
		v := normalize(lookup(body, path))
		if _, isMissing := v.(missing); isMissing {
			problems = append(problems, fmt.Sprintf("cannot save %s: %s missing", name, path))
		} else {
			r.vars[name] = fmt.Sprint(v)
		}
	}
	return problems
}

func (r *runner) paginate(t *testing.T, s step) []string {
	query := cybervault.Params{"limit": s.Paginate.Limit}
	for k, v := range s.Query {
		query[k] = v
	}
	it := r.client(t, s.Key).List(context.Background(), s.Path, query)
	var ids []string
	for it.Next() {
		ids = append(ids, it.Current().ID())
	}
	if err := it.Err(); err != nil {
		return []string{"paging failed: " + err.Error()}
	}
	var problems []string
	if want, ok := s.Expect["items"].(float64); ok && float64(len(ids)) != want {
		problems = append(problems, fmt.Sprintf("%d items, expected %v", len(ids), want))
	}
	if want, ok := s.Expect["pages"].(float64); ok && float64(it.PagesFetched()) != want {
		problems = append(problems, fmt.Sprintf("%d pages, expected %v", it.PagesFetched(), want))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] && s.Expect["unique_ids"] == true {
			problems = append(problems, "an object appeared twice while paging")
		}
		seen[id] = true
	}
	if s.Expect["order"] == "id_desc" && !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] > ids[j] }) {
		problems = append(problems, fmt.Sprintf("not newest first: %v", ids))
	}
	return problems
}

func TestConformanceScenario(t *testing.T) {
	target := requireLive(t)
	raw, err := os.ReadFile(filepath.Join("..", "conformance", "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var scenario struct {
		Keys  map[string]string `json:"keys"`
		Steps []step            `json:"steps"`
	}
	if err := json.Unmarshal(raw, &scenario); err != nil {
		t.Fatal(err)
	}
	spec := struct {
		Paths map[string]any `json:"paths"`
	}{}
	resp, err := http.Get(target.baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&spec); err != nil {
		t.Fatal(err)
	}
	runID := make([]byte, 4)
	_, _ = rand.Read(runID)
	r := &runner{baseURL: target.baseURL, vars: map[string]string{"run_id": hex.EncodeToString(runID)},
		keys:    map[string]string{"live": target.liveKey, "test": target.testKey, "invalid": scenario.Keys["invalid"]},
		clients: map[string]*cybervault.Client{}}
	for p := range spec.Paths {
		pattern := regexp.MustCompile(`\\\{[^/]+?\\\}`).ReplaceAllString(regexp.QuoteMeta(p), "[^/]+")
		r.routes = append(r.routes, regexp.MustCompile("^"+pattern+"$"))
	}
	ran := 0
	for _, raw := range scenario.Steps {
		if raw.Key == "" {
			raw.Key = "live"
		}
		s, name, ok := r.resolve(raw)
		if !ok {
			t.Errorf("%s: skipped (needs %s from a skipped step)", raw.Name, name)
			continue
		}
		if !r.published(s.Path) {
			t.Errorf("%s: skipped, the server does not publish %s %s", s.Name, s.Method, s.Path)
			continue
		}
		var problems []string
		if s.Paginate != nil {
			problems = r.paginate(t, s)
		} else {
			problems = r.request(t, s)
		}
		ran++
		for _, p := range problems {
			t.Errorf("%s: %s", s.Name, p)
		}
	}
	if ran != len(scenario.Steps) {
		t.Errorf("ran %d of %d steps", ran, len(scenario.Steps))
	}
}
