// Package cybervault is the CyberVault API client for Go: retries with idempotency keys, an iterator over
// paged lists, typed errors (*Error with errors.As / errors.Is) and, in package webhook, signature checks.
// It uses the standard library only, and every call takes a context.Context.
package cybervault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version of this SDK, sent in the User-Agent.
const Version = "0.1.0"

const (
	DefaultBaseURL      = "http://127.0.0.1:8000"
	DefaultTimeout      = 80 * time.Second
	DefaultMaxRetries   = 2
	DefaultMaxRetryWait = 60 * time.Second
	initialRetryDelay   = 500 * time.Millisecond
	maxRetryDelay       = 8 * time.Second
)

// 409s that describe a final state: retrying cannot change the answer.
var permanentConflictCodes = map[string]bool{"scan_not_cancelable": true, "conflict": true}

// Params is a query or a JSON body. Nil values are dropped; in a query, booleans are sent as
// true/false and slices are joined with commas.
type Params map[string]any

// Client talks to one CyberVault server with one API key. Its fields are safe to read; build it with NewClient.
type Client struct {
	apiKey         string
	BaseURL        string
	Timeout        time.Duration
	MaxRetries     int
	MaxRetryWait   time.Duration
	DefaultHeaders map[string]string
	HTTPClient     *http.Client
	// Sleep waits between retries; tests may replace it. It must return early when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error

	Threats              *ThreatsService
	Scans                *ScansService
	Findings             *FindingsService
	ScanSchedules        *CrudService
	Assets               *AssetsService
	CVEs                 *CVEsService
	Incidents            *IncidentsService
	NotificationChannels *NotificationChannelsService
	TriageRules          *CrudService
	Compliance           *ComplianceService
	WebhookEndpoints     *WebhookEndpointsService
	WebhookDeliveries    *WebhookDeliveriesService
	Events               *EventsService
	APIKeys              *APIKeysService
	AuditLogs            *AuditLogsService
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the key (default: the CYBERVAULT_API_KEY environment variable).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithBaseURL sets the server (default: CYBERVAULT_BASE_URL, else http://127.0.0.1:8000).
func WithBaseURL(u string) Option { return func(c *Client) { c.BaseURL = u } }

// WithTimeout sets the per-request timeout (default 80 s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.Timeout = d } }

// WithMaxRetries sets how many times a failed request is retried (default 2).
func WithMaxRetries(n int) Option { return func(c *Client) { c.MaxRetries = n } }

// WithMaxRetryWait caps a wait the server asks for with Retry-After (default 60 s).
func WithMaxRetryWait(d time.Duration) Option { return func(c *Client) { c.MaxRetryWait = d } }

// WithHTTPClient sets the http.Client used for every request.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.HTTPClient = h } }

// WithHeader adds a header to every request.
func WithHeader(name, value string) Option {
	return func(c *Client) { c.DefaultHeaders[name] = value }
}

// NewClient builds a client; it fails only when no API key is given or found in CYBERVAULT_API_KEY.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		apiKey: os.Getenv("CYBERVAULT_API_KEY"), BaseURL: os.Getenv("CYBERVAULT_BASE_URL"),
		Timeout: DefaultTimeout, MaxRetries: DefaultMaxRetries, MaxRetryWait: DefaultMaxRetryWait,
		DefaultHeaders: map[string]string{}, Sleep: sleepContext,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.apiKey == "" {
		return nil, &Error{Kind: KindConfiguration, Code: "missing_api_key",
			Message: "No API key given. Use WithAPIKey or set CYBERVAULT_API_KEY (`make run` prints a demo key the first time it starts)."}
	}
	if c.MaxRetries < 0 {
		return nil, &Error{Kind: KindConfiguration, Code: "invalid_option", Message: "MaxRetries must be >= 0"}
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.HTTPClient == nil {
		// No redirects: an API answer is never a redirect, and following one would resend the key.
		c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c.Threats = &ThreatsService{c}
	c.Scans = &ScansService{c}
	c.Findings = &FindingsService{c}
	c.ScanSchedules = &CrudService{c, "/v1/threats/schedules"}
	c.Assets = &AssetsService{CrudService{c, "/v1/assets"}}
	c.CVEs = &CVEsService{c}
	c.Incidents = &IncidentsService{CrudService{c, "/v1/incidents"}}
	c.NotificationChannels = &NotificationChannelsService{CrudService{c, "/v1/notification_channels"}}
	c.TriageRules = &CrudService{c, "/v1/triage_rules"}
	c.Compliance = &ComplianceService{c, &CrudService{c, "/v1/compliance/attestations"}}
	c.WebhookEndpoints = &WebhookEndpointsService{CrudService{c, "/v1/webhook_endpoints"}}
	c.WebhookDeliveries = &WebhookDeliveriesService{c}
	c.Events = &EventsService{c}
	c.APIKeys = &APIKeysService{c}
	c.AuditLogs = &AuditLogsService{c}
	return c, nil
}

// APIKey returns the key in use.
func (c *Client) APIKey() string { return c.apiKey }

// String keeps the key out of logs.
func (c *Client) String() string { return fmt.Sprintf("cybervault.Client{BaseURL: %q}", c.BaseURL) }

// GoString keeps the key out of %#v as well.
func (c *Client) GoString() string { return c.String() }

// Request is one logical API call.
type Request struct {
	Method string
	Path   string
	Query  Params
	Body   any // a Params, a struct, or nil
	// IdempotencyKey for a POST; generated once per request when empty, and reused on every retry.
	IdempotencyKey string
	// NotIdempotent marks a GET with side effects (the seed's scan): retried only when it never reached the server.
	NotIdempotent bool
	Timeout       time.Duration
}

// Response is a successful (2xx) answer.
type Response struct {
	StatusCode int
	Header     map[string]string // lower-cased names
	// Body is the decoded JSON object (a bare JSON list under "data"), or a string for text bodies such as CSV.
	Body any
}

// Object returns the body as an Object (empty when the body was not a JSON object).
func (r *Response) Object() Object {
	if m, ok := r.Body.(map[string]any); ok {
		return Object(m)
	}
	return Object{}
}

// RequestID is the server's X-Request-Id.
func (r *Response) RequestID() string { return r.Header["x-request-id"] }

// RawRequest calls any endpoint (for routes newer than this SDK) with the same retries and typed errors.
func (c *Client) RawRequest(ctx context.Context, method, path string, query Params, body any) (*Response, error) {
	return c.Do(ctx, &Request{Method: method, Path: path, Query: query, Body: body})
}

func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "cvsdk-" + hex.EncodeToString(b)
}

// EncodeQuery spells a Params as the API reads it, keys sorted.
func EncodeQuery(p Params) string {
	values := url.Values{}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := p[k].(type) {
		case nil:
		case bool:
			values.Set(k, strconv.FormatBool(v))
		case []string:
			values.Set(k, strings.Join(v, ","))
		case string:
			values.Set(k, v)
		case *string:
			if v != nil {
				values.Set(k, *v)
			}
		default:
			values.Set(k, fmt.Sprint(v))
		}
	}
	return values.Encode()
}

func cleanBody(body any) any {
	if p, ok := body.(Params); ok {
		out := Params{}
		for k, v := range p {
			if v != nil {
				out[k] = v
			}
		}
		return out
	}
	return body
}

// Do sends one logical request, retrying as the policy allows, and returns a 2xx Response or an *Error.
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	method := strings.ToUpper(r.Method)
	key := r.IdempotencyKey
	if key == "" && method == http.MethodPost {
		key = newIdempotencyKey() // once: every retry of this POST carries the same key
	}
	var payload []byte
	if r.Body != nil {
		var err error
		if payload, err = json.Marshal(cleanBody(r.Body)); err != nil {
			return nil, &Error{Kind: KindInvalidRequest, Code: "invalid_body", Message: err.Error(), cause: err}
		}
	}
	target := c.BaseURL + r.Path
	if q := EncodeQuery(r.Query); q != "" {
		target += "?" + q
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = c.Timeout
	}
	retryFailures := !r.NotIdempotent || key != ""

	for attempt := 0; ; attempt++ {
		status, header, body, err := c.once(ctx, method, target, key, payload, timeout)
		if err != nil {
			if ctx.Err() != nil { // the caller gave up: no retry
				return nil, c.connectionError(r.Path, err)
			}
			if attempt < c.MaxRetries && (retryFailures || isDialError(err)) {
				if serr := c.Sleep(ctx, backoff(attempt+1)); serr != nil {
					return nil, c.connectionError(r.Path, serr)
				}
				continue
			}
			return nil, c.connectionError(r.Path, err)
		}
		if status >= 200 && status < 300 {
			return &Response{StatusCode: status, Header: header, Body: body}, nil
		}
		if attempt < c.MaxRetries && shouldRetryStatus(status, body) {
			wait, hinted := hintedDelay(header, status, time.Now())
			if hinted {
				if wait > c.MaxRetryWait {
					wait = c.MaxRetryWait
				}
			} else {
				wait = backoff(attempt + 1)
			}
			if serr := c.Sleep(ctx, wait); serr != nil {
				return nil, c.connectionError(r.Path, serr)
			}
			continue
		}
		return nil, errorFromResponse(status, header, body, r.Path)
	}
}

func (c *Client) once(ctx context.Context, method, target, key string, payload []byte, timeout time.Duration) (int, map[string]string, any, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reader io.Reader
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", fmt.Sprintf("cybervault-go/%s %s", Version, runtime.Version()))
	for k, v := range c.DefaultHeaders {
		req.Header.Set(k, v)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	// Reading the body can fail too (a connection dropped mid-body): that is a connection error.
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	header := map[string]string{}
	for k, v := range resp.Header {
		header[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return resp.StatusCode, header, decode(raw, header["content-type"]), nil
}

func decode(raw []byte, contentType string) any {
	if len(raw) == 0 {
		return map[string]any{}
	}
	if strings.Contains(contentType, "json") {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // ids and counts stay exact
		if err := dec.Decode(&v); err == nil {
			if m, ok := v.(map[string]any); ok {
				return m
			}
			return map[string]any{"data": v}
		}
	}
	return string(raw)
}

func (c *Client) connectionError(path string, err error) *Error {
	kind, what := KindConnection, "failed"
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		kind, what = KindTimeout, "timed out"
	}
	return &Error{Kind: kind, Code: "connection_error", Message: fmt.Sprintf("Request to %s%s %s: %v", c.BaseURL, path, what, err), cause: err}
}
