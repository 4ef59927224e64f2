package cybervault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cybervault "github.com/cybervault/sdk-go"
)

// action is one scripted answer of the flaky server.
type action struct {
	status int
	body   any
	header map[string]string
	drop   bool // cut the connection without an answer
}

type received struct {
	header http.Header
	body   string
	query  string
}

// flakyServer is a real local HTTP server that answers each "METHOD path" from a script (429 with
// Retry-After, 503, 409, dropped connections, then success) and records every request it gets.
type flakyServer struct {
	*httptest.Server
	mu       sync.Mutex
	scripts  map[string][]action
	requests map[string][]received
}

func newFlaky(t *testing.T) *flakyServer {
	f := &flakyServer{scripts: map[string][]action{}, requests: map[string][]received{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.requests[key] = append(f.requests[key], received{r.Header.Clone(), string(body), r.URL.RawQuery})
		actions := f.scripts[key]
		a := action{status: 404, body: apiError(404, "resource_not_found").body}
		if len(actions) > 0 {
			a = actions[0]
			if len(actions) > 1 { // the last action repeats
				f.scripts[key] = actions[1:]
			}
		}
		f.mu.Unlock()
		if a.drop {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_ = json.NewEncoder(w).Encode(a.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flakyServer) script(key string, actions ...action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[key] = actions
}

func (f *flakyServer) got(key string) []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.requests[key]...)
}

func apiError(status int, code string) action {
	return action{status: status, body: map[string]any{"error": map[string]any{
		"code": code, "message": "scripted error", "documentation_url": "http://flaky/docs/errors/" + code,
		"request_id": fmt.Sprintf("req_flaky_%d", status)}}}
}

var asset = map[string]any{"id": "ast_1", "object": "asset", "livemode": false, "target": "198.51.100.9", "name": "flaky"}

// flakyClient records the waits it is asked for and sleeps at most 20 ms of each, so tests stay fast.
func flakyClient(t *testing.T, url string, opts ...cybervault.Option) (*cybervault.Client, *[]time.Duration) {
	c, err := cybervault.NewClient(append([]cybervault.Option{cybervault.WithAPIKey("cv_test_sk_flakyflakyflakyflakyflaky"), cybervault.WithBaseURL(url)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if d > 20*time.Millisecond {
			d = 20 * time.Millisecond
		}
		time.Sleep(d)
		return ctx.Err()
	}
	return c, &waits
}

func TestPostRetries429Then503WithOneIdempotencyKey(t *testing.T) {
	f := newFlaky(t)
	withRetryAfter := apiError(429, "rate_limit_exceeded")
	withRetryAfter.header = map[string]string{"Retry-After": "2"}
	f.script("POST /v1/assets", withRetryAfter, apiError(503, "service_unavailable"), action{status: 201, body: asset})
	c, waits := flakyClient(t, f.URL)
	got, err := c.Assets.Create(context.Background(), "198.51.100.9", cybervault.Params{"name": "flaky"})
	if err != nil || got.String("name") != "flaky" || got.ID() != "ast_1" {
		t.Fatalf("%v %v", got, err)
	}
	reqs := f.got("POST /v1/assets")
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	key := reqs[0].header.Get("Idempotency-Key")
	for _, r := range reqs {
		if r.header.Get("Idempotency-Key") != key || r.body != reqs[0].body {
			t.Fatalf("retries differ: %q vs %q", r.header.Get("Idempotency-Key"), key)
		}
	}
	if !strings.HasPrefix(key, "cvsdk-") {
		t.Fatalf("key %q", key)
	}
	if (*waits)[0] != 2*time.Second {
		t.Fatalf("Retry-After not honoured: %v", *waits)
	}
	if w := (*waits)[1]; w < 500*time.Millisecond || w > time.Second {
		t.Fatalf("second backoff %v outside 1 s × [0.5, 1]", w)
	}
}

func TestDroppedConnectionsAreRetriedWithTheSameKey(t *testing.T) {
	f := newFlaky(t)
	f.script("POST /v1/api_keys/key_1/revoke", action{drop: true}, action{drop: true}, action{status: 200, body: asset})
	c, _ := flakyClient(t, f.URL)
	if _, err := c.APIKeys.Revoke(context.Background(), "key_1", cybervault.WithIdempotencyKey("my-key-123")); err != nil {
		t.Fatal(err)
	}
	reqs := f.got("POST /v1/api_keys/key_1/revoke")
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.header.Get("Idempotency-Key") != "my-key-123" {
			t.Fatal("caller's key not reused")
		}
	}
}

func TestErrorsAfterRetriesAreTyped(t *testing.T) {
	f := newFlaky(t)
	f.script("GET /v1/assets/ast_500", apiError(500, "internal_error"))
	limited := apiError(429, "rate_limit_exceeded")
	limited.header = map[string]string{"Retry-After": "1"}
	f.script("GET /v1/assets/ast_429", limited)
	f.script("GET /v1/assets/ast_400", apiError(400, "invalid_request"))
	f.script("POST /v1/threats/scans/sc_1/cancel", apiError(409, "scan_not_cancelable"))
	c, waits := flakyClient(t, f.URL, cybervault.WithMaxRetries(1), cybervault.WithMaxRetryWait(30*time.Millisecond))
	ctx := context.Background()

	_, err := c.Assets.Retrieve(ctx, "ast_500")
	var cvErr *cybervault.Error
	if !errors.As(err, &cvErr) || cvErr.Kind != cybervault.KindAPI || cvErr.HTTPStatus != 500 || cvErr.Code != "internal_error" ||
		cvErr.RequestID != "req_flaky_500" || cvErr.DocumentationURL != "http://flaky/docs/errors/internal_error" {
		t.Fatalf("%#v", err)
	}
	if len(f.got("GET /v1/assets/ast_500")) != 2 {
		t.Fatal("5xx not retried once")
	}
	_, err = c.Assets.Retrieve(ctx, "ast_429")
	if !errors.Is(err, cybervault.ErrRateLimit) || !errors.As(err, &cvErr) || cvErr.RetryAfter() != 1 {
		t.Fatalf("%v", err)
	}
	if (*waits)[len(*waits)-1] != 30*time.Millisecond {
		t.Fatalf("Retry-After not capped by MaxRetryWait: %v", *waits)
	}
	if _, err = c.Assets.Retrieve(ctx, "ast_400"); !errors.Is(err, cybervault.ErrInvalidRequest) || len(f.got("GET /v1/assets/ast_400")) != 1 {
		t.Fatalf("400: %v", err)
	}
	if _, err = c.Scans.Cancel(ctx, "sc_1"); !errors.Is(err, cybervault.ErrConflict) || len(f.got("POST /v1/threats/scans/sc_1/cancel")) != 1 {
		t.Fatalf("permanent 409 retried or untyped: %v", err)
	}
}

func TestRetryable409IsRetried(t *testing.T) {
	f := newFlaky(t)
	f.script("POST /v1/incidents", apiError(409, "idempotency_key_in_use"), action{status: 201, body: asset})
	c, _ := flakyClient(t, f.URL)
	if _, err := c.Incidents.Create(context.Background(), cybervault.NewIncident{Title: "t", Severity: "low", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.got("POST /v1/incidents")); n != 2 {
		t.Fatalf("%d requests", n)
	}
}

func TestScanGetIsNotRetriedAfterADropButARefusedConnectionIs(t *testing.T) {
	f := newFlaky(t)
	f.script("GET /v1/threats/scan", action{drop: true}, action{status: 200, body: map[string]any{"scan_id": "sc_1", "status": "completed"}})
	c, _ := flakyClient(t, f.URL)
	_, err := c.Threats.Scan(context.Background(), "127.0.0.1", cybervault.ScanOptions{})
	if !errors.Is(err, cybervault.ErrConnection) || len(f.got("GET /v1/threats/scan")) != 1 {
		t.Fatalf("%v, %d requests", err, len(f.got("GET /v1/threats/scan")))
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close() // nothing listens there any more: connection refused
	closed, waits := flakyClient(t, "http://"+addr, cybervault.WithMaxRetries(1))
	_, err = closed.Threats.Scan(context.Background(), "127.0.0.1", cybervault.ScanOptions{})
	var cvErr *cybervault.Error
	if !errors.As(err, &cvErr) || cvErr.Kind != cybervault.KindConnection || len(*waits) != 1 {
		t.Fatalf("%v waits=%v", err, *waits)
	}
}

func TestTimeoutIsATimeoutError(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	c, _ := flakyClient(t, slow.URL, cybervault.WithTimeout(200*time.Millisecond), cybervault.WithMaxRetries(0))
	_, err := c.Assets.Retrieve(context.Background(), "ast_1")
	if !errors.Is(err, cybervault.ErrTimeout) || !errors.Is(err, cybervault.ErrConnection) {
		t.Fatalf("%v", err)
	}
}

func TestIteratorWalksEveryPage(t *testing.T) {
	f := newFlaky(t)
	page := func(more bool, ids ...string) action {
		var data []any
		for _, id := range ids {
			data = append(data, map[string]any{"id": id, "object": "asset"})
		}
		return action{status: 200, body: map[string]any{"object": "list", "url": "/v1/assets", "has_more": more, "data": data}}
	}
	f.script("GET /v1/assets", page(true, "o5", "o4"), page(true, "o3", "o2"), page(false, "o1"))
	c, _ := flakyClient(t, f.URL)
	it := c.Assets.List(context.Background(), cybervault.Params{"limit": 2, "tag": "x"})
	var ids []string
	for it.Next() {
		ids = append(ids, it.Current().ID())
	}
	if it.Err() != nil || strings.Join(ids, ",") != "o5,o4,o3,o2,o1" || it.PagesFetched() != 3 {
		t.Fatalf("%v %v %d", ids, it.Err(), it.PagesFetched())
	}
	reqs := f.got("GET /v1/assets")
	if reqs[0].query != "limit=2&tag=x" || reqs[1].query != "limit=2&starting_after=o4&tag=x" || reqs[2].query != "limit=2&starting_after=o2&tag=x" {
		t.Fatalf("cursors: %q %q %q", reqs[0].query, reqs[1].query, reqs[2].query)
	}
}

func TestKeyFromEnvironmentAndKeptOutOfLogs(t *testing.T) {
	t.Setenv("CYBERVAULT_API_KEY", "cv_test_sk_fromenvfromenvfromenvfromenv")
	c, err := cybervault.NewClient(cybervault.WithBaseURL("http://127.0.0.1:1"))
	if err != nil || c.APIKey() != "cv_test_sk_fromenvfromenvfromenvfromenv" {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, "fromenv") {
		t.Fatalf("key printed: %s", s)
	}
	t.Setenv("CYBERVAULT_API_KEY", "")
	var cvErr *cybervault.Error
	if _, err := cybervault.NewClient(); !errors.As(err, &cvErr) || cvErr.Code != "missing_api_key" {
		t.Fatalf("%v", err)
	}
}
