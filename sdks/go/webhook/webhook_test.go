package webhook_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	cybervault "github.com/cybervault/sdk-go"
	"github.com/cybervault/sdk-go/webhook"
)

type fixtureCase struct {
	Name      string            `json:"name"`
	Secret    string            `json:"secret"`
	Payload   string            `json:"payload"`
	Headers   map[string]string `json:"headers"`
	Signature *string           `json:"signature"`
	Now       int64             `json:"now"`
	Expect    json.RawMessage   `json:"expect"`
	EventType string            `json:"event_type"`
}

func loadFixtures(t *testing.T) (int64, []fixtureCase) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "conformance", "webhooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tolerance int64         `json:"tolerance"`
		Cases     []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Tolerance, doc.Cases
}

func TestWebhookFixtures(t *testing.T) {
	tolerance, cases := loadFixtures(t)
	for _, c := range cases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			opts := webhook.Options{Tolerance: time.Duration(tolerance) * time.Second, Now: time.Unix(c.Now, 0)}
			payload := []byte(c.Payload)
			header := http.Header{}
			for k, v := range c.Headers {
				header[k] = []string{v} // as given, not canonicalized: Verify must cope
			}
			var err error
			if c.Signature != nil {
				err = webhook.VerifySignature(payload, *c.Signature, c.Secret, opts)
			} else {
				err = webhook.Verify(payload, header, c.Secret, opts)
			}
			var expect struct{ Error string }
			if string(c.Expect) == `"valid"` {
				if err != nil {
					t.Fatalf("expected valid, got %v", err)
				}
				if c.EventType != "" {
					event, err := webhook.ConstructEvent(payload, header, c.Secret, opts)
					if err != nil || event.Type != c.EventType {
						t.Fatalf("event %+v, err %v; want type %s", event, err, c.EventType)
					}
				}
				return
			}
			if jerr := json.Unmarshal(c.Expect, &expect); jerr != nil {
				t.Fatal(jerr)
			}
			var cvErr *cybervault.Error
			if !errors.As(err, &cvErr) || cvErr.Code != expect.Error || !errors.Is(err, cybervault.ErrWebhookVerification) {
				t.Fatalf("want %s, got %v", expect.Error, err)
			}
		})
	}
}

func TestSignRoundTrip(t *testing.T) {
	_, cases := loadFixtures(t)
	body := []byte(`{"id":"evt_1","object":"event","type":"webhook.test","data":{"object":{}}}`)
	header, err := webhook.Sign(body, cases[0].Secret, "evt_1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	event, err := webhook.ConstructEvent(body, header, cases[0].Secret, webhook.Options{})
	if err != nil || event.Type != "webhook.test" {
		t.Fatalf("%v %v", event, err)
	}
	if err := webhook.Verify(body, header, "whsec_not base64!", webhook.Options{}); err == nil {
		t.Fatal("a malformed secret verified")
	}
}
