package cybervault

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CallOption adjusts one call.
type CallOption func(*Request)

// WithIdempotencyKey sends your own Idempotency-Key (safe across process restarts too).
func WithIdempotencyKey(key string) CallOption { return func(r *Request) { r.IdempotencyKey = key } }

// pathID refuses anything that could change the URL path.
func pathID(id string) (string, error) {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/?#%\\ ") {
		return "", &Error{Kind: KindInvalidRequest, Code: "invalid_id", Message: fmt.Sprintf("not an object id: %q", id)}
	}
	return id, nil
}

func (c *Client) object(ctx context.Context, method, path string, query Params, body any, opts []CallOption) (Object, error) {
	r := &Request{Method: method, Path: path, Query: query, Body: body}
	for _, opt := range opts {
		opt(r)
	}
	resp, err := c.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.Object(), nil
}

func (c *Client) at(ctx context.Context, method, prefix, id, suffix string, body any, opts []CallOption) (Object, error) {
	clean, err := pathID(id)
	if err != nil {
		return nil, err
	}
	return c.object(ctx, method, prefix+"/"+clean+suffix, nil, body, opts)
}

func (c *Client) listAt(ctx context.Context, prefix, id, suffix string, query Params) *Iter {
	clean, err := pathID(id)
	if err != nil {
		return &Iter{err: err}
	}
	return newIter(ctx, c, prefix+"/"+clean+suffix, query)
}

// CrudService is create / retrieve / list / update / delete on one collection.
type CrudService struct {
	client *Client
	path   string
}

func (s *CrudService) Create(ctx context.Context, fields Params, opts ...CallOption) (Object, error) {
	return s.client.object(ctx, "POST", s.path, nil, fields, opts)
}
func (s *CrudService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", s.path, id, "", nil, nil)
}
func (s *CrudService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, s.path, query)
}
func (s *CrudService) Update(ctx context.Context, id string, fields Params) (Object, error) {
	return s.client.at(ctx, "PATCH", s.path, id, "", fields, nil)
}
func (s *CrudService) Delete(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "DELETE", s.path, id, "", nil, nil)
}

// ---- threats, scans, findings, assets, CVEs ---------------------------------------------------------

// ScanOptions for Threats.Scan. Zero values mean the server's defaults, 5 minutes and 1 second.
type ScanOptions struct {
	Depth        string
	IncludeVulns *bool
	Timeout      time.Duration
	PollInterval time.Duration
}

const serverMaxWait = 60 // seconds the seed endpoint holds a request at most

type ThreatsService struct{ client *Client }

// Scan runs a scan and waits until it completes, fails or is canceled (the seed's GET /v1/threats/scan).
// The server holds the request up to 60 s; after that the SDK polls. A failed scan is returned (check
// Status); when the timeout passes first, an *Error of KindScanTimeout carries the scan as last seen.
func (s *ThreatsService) Scan(ctx context.Context, target string, opts ScanOptions) (*Scan, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	wait := int(timeout / time.Second)
	if wait > serverMaxWait {
		wait = serverMaxWait
	}
	query := Params{"target_ip": target, "wait": wait}
	if opts.Depth != "" {
		query["depth"] = opts.Depth
	}
	if opts.IncludeVulns != nil {
		query["include_vulns"] = *opts.IncludeVulns
	}
	// This GET starts a scan, so it is retried only when the request never reached the server.
	resp, err := s.client.Do(ctx, &Request{Method: "GET", Path: "/v1/threats/scan", Query: query, NotIdempotent: true,
		Timeout: time.Duration(wait+30) * time.Second})
	if err != nil {
		return nil, err
	}
	scan, err := scanFrom(resp.Object())
	if err != nil {
		return nil, err
	}
	return s.client.Scans.poll(ctx, scan, deadline, opts.PollInterval, timeout)
}

type ScansService struct{ client *Client }

// Create queues a scan (202) and returns at once; see Wait.
func (s *ScansService) Create(ctx context.Context, target string, fields Params, opts ...CallOption) (*Scan, error) {
	body := Params{"target_ip": target}
	for k, v := range fields {
		body[k] = v
	}
	o, err := s.client.object(ctx, "POST", "/v1/threats/scans", nil, body, opts)
	if err != nil {
		return nil, err
	}
	return scanFrom(o)
}
func (s *ScansService) Retrieve(ctx context.Context, id string) (*Scan, error) {
	o, err := s.client.at(ctx, "GET", "/v1/threats/scans", id, "", nil, nil)
	if err != nil {
		return nil, err
	}
	return scanFrom(o)
}
func (s *ScansService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/threats/scans", query)
}
func (s *ScansService) Cancel(ctx context.Context, id string, opts ...CallOption) (*Scan, error) {
	o, err := s.client.at(ctx, "POST", "/v1/threats/scans", id, "/cancel", nil, opts)
	if err != nil {
		return nil, err
	}
	return scanFrom(o)
}

// Wait polls a scan until it completes, fails or is canceled (timeout 0 means 5 minutes).
func (s *ScansService) Wait(ctx context.Context, id string, timeout, pollInterval time.Duration) (*Scan, error) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	scan, err := s.Retrieve(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.poll(ctx, scan, deadline, pollInterval, timeout)
}

func (s *ScansService) poll(ctx context.Context, scan *Scan, deadline time.Time, interval, timeout time.Duration) (*Scan, error) {
	if interval <= 0 {
		interval = time.Second
	}
	for !scan.Finished() {
		remaining := time.Until(deadline)
		if remaining <= 0 || scan.ScanID == "" {
			return nil, &Error{Kind: KindScanTimeout, Code: "scan_wait_timeout", Scan: scan,
				Message: fmt.Sprintf("Scan %s still %s after %s.", scan.ScanID, scan.Status, timeout)}
		}
		if remaining > interval {
			remaining = interval
		}
		if err := s.client.Sleep(ctx, remaining); err != nil {
			return nil, s.client.connectionError("/v1/threats/scans/"+scan.ScanID, err)
		}
		next, err := s.Retrieve(ctx, scan.ScanID)
		if err != nil {
			return nil, err
		}
		scan = next
	}
	return scan, nil
}

type FindingsService struct{ client *Client }

// List filters: severity, type, host, cve, status.
func (s *FindingsService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/threats/findings", query)
}
func (s *FindingsService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/threats/findings", id, "", nil, nil)
}

// Update sets status: open, resolved or accepted_risk (which needs a reason).
func (s *FindingsService) Update(ctx context.Context, id string, fields Params) (Object, error) {
	return s.client.at(ctx, "PATCH", "/v1/threats/findings", id, "", fields, nil)
}

type AssetsService struct{ CrudService }

// Create an asset: fields name, tags, criticality, environment, owner.
func (s *AssetsService) Create(ctx context.Context, target string, fields Params, opts ...CallOption) (Object, error) {
	body := Params{"target": target}
	for k, v := range fields {
		body[k] = v
	}
	return s.CrudService.Create(ctx, body, opts...)
}

type CVEsService struct{ client *Client }

func (s *CVEsService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/cves", id, "", nil, nil)
}

// Search filters: product, version, cpe, kev.
func (s *CVEsService) Search(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/cves", query)
}
func (s *CVEsService) List(ctx context.Context, query Params) *Iter { return s.Search(ctx, query) }

// ---- incidents, channels --------------------------------------------------------------------------

type IncidentsService struct{ CrudService }

// NewIncident holds the seed's fields; Extra adds detected_at, personal_data_breach, tags, external_id.
type NewIncident struct {
	Title           string
	Severity        string
	Description     string
	AffectedSystems []string
	Extra           Params
}

func (s *IncidentsService) Create(ctx context.Context, in NewIncident, opts ...CallOption) (Object, error) {
	body := Params{"title": in.Title, "severity": in.Severity, "description": in.Description}
	if in.AffectedSystems != nil {
		body["affected_systems"] = in.AffectedSystems
	}
	for k, v := range in.Extra {
		body[k] = v
	}
	return s.CrudService.Create(ctx, body, opts...)
}
func (s *IncidentsService) Comment(ctx context.Context, id, text string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", s.path, id, "/comments", Params{"body": text}, opts)
}
func (s *IncidentsService) Timeline(ctx context.Context, id string, query Params) *Iter {
	return s.client.listAt(ctx, s.path, id, "/timeline", query)
}

type NotificationChannelsService struct{ CrudService }

// Test sends a test message through the channel.
func (s *NotificationChannelsService) Test(ctx context.Context, id string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", s.path, id, "/test", nil, opts)
}

// ---- compliance -----------------------------------------------------------------------------------

type ComplianceService struct {
	client       *Client
	Attestations *CrudService
}

// Posture across soc2, iso27001, hipaa, gdpr (all when frameworks is empty).
func (s *ComplianceService) Posture(ctx context.Context, frameworks ...string) (Object, error) {
	return s.client.object(ctx, "GET", "/v1/compliance/posture", frameworksQuery(frameworks), nil, nil)
}
func (s *ComplianceService) Frameworks(ctx context.Context) ([]Object, error) {
	return s.listOnce(ctx, "/v1/compliance/frameworks", nil)
}
func (s *ComplianceService) Controls(ctx context.Context, framework string) ([]Object, error) {
	q := Params{}
	if framework != "" {
		q["framework"] = framework
	}
	return s.listOnce(ctx, "/v1/compliance/controls", q)
}
func (s *ComplianceService) History(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/compliance/posture/history", query)
}

// Export returns OSCAL assessment-results (format "oscal": Body is a map) or CSV (format "csv": Body is a string).
func (s *ComplianceService) Export(ctx context.Context, format string, frameworks ...string) (*Response, error) {
	if format == "" {
		format = "oscal"
	}
	q := frameworksQuery(frameworks)
	q["format"] = format
	return s.client.Do(ctx, &Request{Method: "GET", Path: "/v1/compliance/export", Query: q})
}

func (s *ComplianceService) listOnce(ctx context.Context, path string, q Params) ([]Object, error) {
	page, err := s.client.GetPage(ctx, path, q)
	if err != nil {
		return nil, err
	}
	return page.Data, nil
}

func frameworksQuery(frameworks []string) Params {
	q := Params{}
	if len(frameworks) > 0 {
		q["frameworks"] = strings.Join(frameworks, ",")
	}
	return q
}

// ---- webhooks, events, keys, audit logs -------------------------------------------------------------

type WebhookEndpointsService struct{ CrudService }

// Create an endpoint; the response's secret (whsec_…) is what webhook.Verify needs.
func (s *WebhookEndpointsService) Create(ctx context.Context, url string, enabledEvents []string, fields Params, opts ...CallOption) (Object, error) {
	body := Params{"url": url}
	if enabledEvents != nil {
		body["enabled_events"] = enabledEvents
	}
	for k, v := range fields {
		body[k] = v
	}
	return s.CrudService.Create(ctx, body, opts...)
}
func (s *WebhookEndpointsService) Secret(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", s.path, id, "/secret", nil, nil)
}
func (s *WebhookEndpointsService) RotateSecret(ctx context.Context, id string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", s.path, id, "/rotate_secret", nil, opts)
}

// Test sends a webhook.test event to this endpoint only; it returns the queued delivery.
func (s *WebhookEndpointsService) Test(ctx context.Context, id string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", s.path, id, "/test", nil, opts)
}
func (s *WebhookEndpointsService) Deliveries(ctx context.Context, id string, query Params) *Iter {
	return s.client.listAt(ctx, s.path, id, "/deliveries", query)
}

type WebhookDeliveriesService struct{ client *Client }

func (s *WebhookDeliveriesService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/webhook_deliveries", id, "", nil, nil)
}
func (s *WebhookDeliveriesService) Retry(ctx context.Context, id string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", "/v1/webhook_deliveries", id, "/retry", nil, opts)
}

type EventsService struct{ client *Client }

func (s *EventsService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/events", id, "", nil, nil)
}

// List filter: type.
func (s *EventsService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/events", query)
}

type APIKeysService struct{ client *Client }

// Create a key (fields type, name, scopes, expires_at, mode); the plaintext secret is in this response only.
func (s *APIKeysService) Create(ctx context.Context, fields Params, opts ...CallOption) (Object, error) {
	return s.client.object(ctx, "POST", "/v1/api_keys", nil, fields, opts)
}
func (s *APIKeysService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/api_keys", id, "", nil, nil)
}
func (s *APIKeysService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/api_keys", query)
}
func (s *APIKeysService) Revoke(ctx context.Context, id string, opts ...CallOption) (Object, error) {
	return s.client.at(ctx, "POST", "/v1/api_keys", id, "/revoke", nil, opts)
}

// Roll gives the key a new secret; the old one keeps working for gracePeriodSeconds (negative: server default).
func (s *APIKeysService) Roll(ctx context.Context, id string, gracePeriodSeconds int, opts ...CallOption) (Object, error) {
	body := Params{}
	if gracePeriodSeconds >= 0 {
		body["grace_period_seconds"] = gracePeriodSeconds
	}
	return s.client.at(ctx, "POST", "/v1/api_keys", id, "/roll", body, opts)
}

type AuditLogsService struct{ client *Client }

func (s *AuditLogsService) Retrieve(ctx context.Context, id string) (Object, error) {
	return s.client.at(ctx, "GET", "/v1/audit_logs", id, "", nil, nil)
}

// List filters: action, object_id.
func (s *AuditLogsService) List(ctx context.Context, query Params) *Iter {
	return newIter(ctx, s.client, "/v1/audit_logs", query)
}
