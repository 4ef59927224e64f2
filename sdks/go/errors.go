package cybervault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind names the category of an Error, chosen by HTTP status (or by what went wrong without one).
type Kind string

const (
	KindAuthentication      Kind = "authentication"  // 401: unknown, expired or revoked key
	KindPermission          Kind = "permission"      // 403: missing scope, or scan target out of scope
	KindNotFound            Kind = "not_found"       // 404: no such object for this organization and mode
	KindInvalidRequest      Kind = "invalid_request" // 400, 405, 413, 415, 422: Param names the field
	KindConflict            Kind = "conflict"        // 409: idempotency or state conflict
	KindRateLimit           Kind = "rate_limit"      // 429 after the retries ran out
	KindAPI                 Kind = "api"             // 5xx after the retries ran out
	KindConnection          Kind = "connection"      // no response: refused, dropped, DNS
	KindTimeout             Kind = "timeout"         // no response before the deadline
	KindScanTimeout         Kind = "scan_timeout"    // Threats.Scan / Scans.Wait gave up waiting
	KindWebhookVerification Kind = "webhook_verification"
	KindConfiguration       Kind = "configuration" // e.g. no API key
)

// Error is every error this SDK returns from an API call. Use errors.As to get at it:
//
//	var cvErr *cybervault.Error
//	if errors.As(err, &cvErr) && cvErr.Kind == cybervault.KindNotFound { … }
//
// or compare with the sentinels: errors.Is(err, cybervault.ErrNotFound).
type Error struct {
	Kind             Kind
	Code             string
	Message          string
	DocumentationURL string
	RequestID        string
	HTTPStatus       int // 0 when no response arrived
	Param            string
	// Header holds the response headers, names lower-cased (nil without a response).
	Header map[string]string
	// Body is the decoded JSON error body as sent: {"error": {…}} (nil without a response).
	Body map[string]any
	// Scan is the scan as last seen, for KindScanTimeout.
	Scan  *Scan
	cause error
}

func (e *Error) Error() string {
	parts := []string{e.Message}
	if e.Code != "" {
		parts = append(parts, "code="+e.Code)
	}
	if e.Param != "" {
		parts = append(parts, "param="+e.Param)
	}
	if e.HTTPStatus != 0 {
		parts = append(parts, "http_status="+strconv.Itoa(e.HTTPStatus))
	}
	if e.RequestID != "" {
		parts = append(parts, "request_id="+e.RequestID)
	}
	return strings.Join(parts, " | ")
}

// Unwrap gives the underlying transport error of a connection or timeout error.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, cybervault.ErrNotFound) and friends match by Kind (a timeout is also a connection error).
func (e *Error) Is(target error) bool {
	var sentinel *kindSentinel
	if errors.As(target, &sentinel) {
		return e.Kind == sentinel.kind || (sentinel.kind == KindConnection && e.Kind == KindTimeout)
	}
	return false
}

// RetryAfter is the server's Retry-After hint in seconds (-1 when absent).
func (e *Error) RetryAfter() float64 {
	if v, err := strconv.ParseFloat(e.Header["retry-after"], 64); err == nil {
		return v
	}
	return -1
}

type kindSentinel struct{ kind Kind }

func (s *kindSentinel) Error() string { return fmt.Sprintf("cybervault: %s error", s.kind) }

// Sentinels for errors.Is.
var (
	ErrAuthentication      error = &kindSentinel{KindAuthentication}
	ErrPermission          error = &kindSentinel{KindPermission}
	ErrNotFound            error = &kindSentinel{KindNotFound}
	ErrInvalidRequest      error = &kindSentinel{KindInvalidRequest}
	ErrConflict            error = &kindSentinel{KindConflict}
	ErrRateLimit           error = &kindSentinel{KindRateLimit}
	ErrAPI                 error = &kindSentinel{KindAPI}
	ErrConnection          error = &kindSentinel{KindConnection}
	ErrTimeout             error = &kindSentinel{KindTimeout}
	ErrScanTimeout         error = &kindSentinel{KindScanTimeout}
	ErrWebhookVerification error = &kindSentinel{KindWebhookVerification}
)

// KindForStatus maps an HTTP status to the Kind of error it becomes.
func KindForStatus(status int) Kind {
	switch status {
	case 400, 405, 413, 415, 422:
		return KindInvalidRequest
	case 401:
		return KindAuthentication
	case 403:
		return KindPermission
	case 404:
		return KindNotFound
	case 409:
		return KindConflict
	case 429:
		return KindRateLimit
	}
	if status >= 400 && status < 500 {
		return KindInvalidRequest
	}
	return KindAPI
}

// NewWebhookError is used by the webhook package so its failures are *Error values too.
func NewWebhookError(code, message string) *Error {
	return &Error{Kind: KindWebhookVerification, Code: code, Message: message}
}

func errorFromResponse(status int, header map[string]string, body any, path string) *Error {
	doc, _ := body.(map[string]any)
	fields, _ := doc["error"].(map[string]any)
	str := func(k string) string { s, _ := fields[k].(string); return s }
	e := &Error{
		Kind: KindForStatus(status), Code: str("code"), Message: str("message"),
		DocumentationURL: str("documentation_url"), RequestID: str("request_id"), HTTPStatus: status,
		Param: str("param"), Header: header, Body: doc,
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d from %s", status, path)
	}
	if e.RequestID == "" {
		e.RequestID = header["x-request-id"]
	}
	return e
}
