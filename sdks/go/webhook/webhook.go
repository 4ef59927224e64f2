// Package webhook verifies CyberVault webhook deliveries. Every delivery is signed twice over the raw body:
//
//   - X-CyberVault-Signature: hex HMAC-SHA256 of the body keyed with the secret string's bytes (the
//     published verify(payload, signature, secret) scheme; it has no timestamp);
//   - Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature ("v1,<base64>") over
//     "{id}.{timestamp}.{body}", keyed with the base64-decoded part of the whsec_ secret. The signed
//     timestamp is what makes a captured delivery useless to replay later.
//
// Failures are *cybervault.Error values of Kind KindWebhookVerification; Code says why.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	cybervault "github.com/cybervault/sdk-go"
)

const (
	DefaultTolerance        = 300 * time.Second
	SignatureHeader         = "X-CyberVault-Signature"
	previousSignatureHeader = "X-CyberVault-Signature-Previous"
	secretPrefix            = "whsec_"
)

// Options for Verify. Zero values: a tolerance of 300 s and the real clock.
type Options struct {
	Tolerance time.Duration
	// Now is the current time (for tests).
	Now time.Time
	// Timestamp, with VerifySignature: also check the age of this unix timestamp.
	Timestamp string
}

// Event is a parsed delivery.
type Event struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Type     string `json:"type"`
	Created  string `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object map[string]any `json:"object"`
	} `json:"data"`
}

func fail(code, format string, args ...any) error {
	return cybervault.NewWebhookError(code, fmt.Sprintf(format, args...))
}

func (o Options) tolerance() time.Duration {
	if o.Tolerance <= 0 {
		return DefaultTolerance
	}
	return o.Tolerance
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Verify checks a delivery given its request headers (names are case-insensitive). With webhook-signature
// present it uses the Standard Webhooks scheme and refuses a timestamp outside the tolerance.
func Verify(payload []byte, header http.Header, secret string, opts Options) error {
	if secret == "" {
		return fail("invalid_secret", "The webhook secret is empty.")
	}
	// A header map built by hand may hold lower-case names, which http.Header.Get would not find.
	canonical := http.Header{}
	for name, values := range header {
		for _, v := range values {
			canonical.Add(name, v)
		}
	}
	header = canonical
	if header.Get("webhook-signature") != "" {
		return verifyStandard(payload, header, secret, opts)
	}
	var hexValues []string
	for _, name := range []string{SignatureHeader, previousSignatureHeader} {
		if v := header.Get(name); v != "" {
			hexValues = append(hexValues, v)
		}
	}
	if len(hexValues) > 0 {
		// Headers without the Standard Webhooks signature: still insist on a fresh timestamp.
		ts := header.Get("webhook-timestamp")
		if ts == "" {
			ts = opts.Timestamp
		}
		if err := checkTimestamp(ts, opts); err != nil {
			return err
		}
		return verifyHex(payload, strings.Join(hexValues, " "), secret)
	}
	return fail("missing_signature", "Neither webhook-signature nor %s is present.", SignatureHeader)
}

// VerifySignature is the published verify(payload, signature, secret) form: the X-CyberVault-Signature value alone.
func VerifySignature(payload []byte, signature, secret string, opts Options) error {
	if secret == "" {
		return fail("invalid_secret", "The webhook secret is empty.")
	}
	if opts.Timestamp != "" {
		if err := checkTimestamp(opts.Timestamp, opts); err != nil {
			return err
		}
	}
	return verifyHex(payload, signature, secret)
}

// ConstructEvent verifies the delivery, then parses it.
func ConstructEvent(payload []byte, header http.Header, secret string, opts Options) (*Event, error) {
	if err := Verify(payload, header, secret, opts); err != nil {
		return nil, err
	}
	event := &Event{}
	if err := json.Unmarshal(payload, event); err != nil {
		return nil, fail("invalid_payload", "The payload is not JSON.")
	}
	if event.Object != "event" {
		return nil, fail("invalid_payload", "The payload is not a CyberVault event object.")
	}
	return event, nil
}

// Sign builds the headers CyberVault would send for payload; for testing your own handler.
func Sign(payload []byte, secret, msgID string, at time.Time) (http.Header, error) {
	key, err := standardKey(secret)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(SignatureHeader, hexDigest(secret, payload))
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+standardDigest(key, msgID, ts, payload))
	return h, nil
}

func standardKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, fail("invalid_secret", "The webhook secret is not a whsec_ secret with a base64 key.")
	}
	return key, nil
}

func hexDigest(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func standardDigest(key []byte, msgID, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func checkTimestamp(value string, opts Options) error {
	if value == "" {
		return fail("missing_timestamp", "No webhook-timestamp: without it a replayed delivery cannot be told from a fresh one.")
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return fail("invalid_timestamp", "webhook-timestamp %q is not unix seconds.", value)
	}
	now := opts.now()
	diff := float64(now.UnixNano())/1e9 - float64(ts)
	if math.Abs(diff) > opts.tolerance().Seconds() {
		return fail("timestamp_outside_tolerance",
			"The webhook timestamp is %d s from now, outside the tolerance of %d s: a stale or replayed delivery.",
			int64(diff), int64(opts.tolerance().Seconds()))
	}
	return nil
}

func verifyStandard(payload []byte, header http.Header, secret string, opts Options) error {
	msgID := header.Get("webhook-id")
	if msgID == "" {
		return fail("missing_signature", "webhook-signature is present but webhook-id is missing.")
	}
	ts := header.Get("webhook-timestamp")
	if err := checkTimestamp(ts, opts); err != nil {
		return err
	}
	key, err := standardKey(secret)
	if err != nil {
		return err
	}
	expected := []byte(standardDigest(key, msgID, ts, payload))
	// Several space-separated "v1,<sig>" entries during a secret rotation; any one may match.
	for _, entry := range strings.Fields(header.Get("webhook-signature")) {
		version, sig, ok := strings.Cut(entry, ",")
		if ok && version == "v1" && hmac.Equal([]byte(sig), expected) {
			return nil
		}
	}
	return fail("invalid_signature", "No webhook-signature entry matches this payload and secret.")
}

func verifyHex(payload []byte, signatures, secret string) error {
	expected := []byte(hexDigest(secret, payload))
	for _, candidate := range strings.Fields(strings.ReplaceAll(signatures, ",", " ")) {
		if hmac.Equal([]byte(strings.ToLower(candidate)), expected) {
			return nil
		}
	}
	return fail("invalid_signature", "The %s value does not match this payload and secret.", SignatureHeader)
}
