package cybervault_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	cybervault "github.com/cybervault/sdk-go"
)

func sandbox(t *testing.T) *cybervault.Client {
	target := requireLive(t)
	c, err := cybervault.NewClient(cybervault.WithAPIKey(target.testKey), cybervault.WithBaseURL(target.baseURL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uniqueTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "go-" + hex.EncodeToString(b)
}

func TestLiveSandboxScanReproducesThePublishedExample(t *testing.T) {
	c := sandbox(t)
	scan, err := c.Threats.Scan(context.Background(), "192.168.1.0/24", cybervault.ScanOptions{Depth: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	if scan.Status != "completed" || scan.ThreatsFound != 2 || len(scan.Findings) != 2 || scan.Livemode {
		t.Fatalf("%+v", scan)
	}
	found := false
	for _, f := range scan.Findings {
		found = found || (f.CVE == "CVE-2017-5638" && f.Severity == "critical")
	}
	if !found {
		t.Fatalf("no critical CVE-2017-5638 finding: %+v", scan.Findings)
	}
	again, err := c.Scans.Retrieve(context.Background(), scan.ScanID)
	if err != nil || again.Status != "completed" {
		t.Fatalf("%v %v", again, err)
	}
}

func TestLiveAssetsPagingUpdateDelete(t *testing.T) {
	c := sandbox(t)
	ctx := context.Background()
	tag := uniqueTag()
	var made []string
	for n := 1; n <= 3; n++ {
		a, err := c.Assets.Create(ctx, fmt.Sprintf("%s-%d.example.com", tag, n), cybervault.Params{"tags": []string{tag}, "criticality": "high"})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, a.ID())
	}
	it := c.Assets.List(ctx, cybervault.Params{"tag": tag, "limit": 2})
	all, err := it.All(0)
	if err != nil || len(all) != 3 || all[0].ID() != made[2] || all[2].ID() != made[0] || it.PagesFetched() != 2 {
		t.Fatalf("%v %v pages=%d", all, err, it.PagesFetched())
	}
	updated, err := c.Assets.Update(ctx, made[0], cybervault.Params{"name": "renamed"})
	if err != nil || updated.String("name") != "renamed" {
		t.Fatalf("%v %v", updated, err)
	}
	deleted, err := c.Assets.Delete(ctx, made[0])
	if err != nil || !deleted.Bool("deleted") {
		t.Fatalf("%v %v", deleted, err)
	}
	if _, err := c.Assets.Retrieve(ctx, made[0]); !errors.Is(err, cybervault.ErrNotFound) {
		t.Fatalf("deleted asset: %v", err)
	}
}

func TestLiveIncidentAndTypedErrors(t *testing.T) {
	c := sandbox(t)
	ctx := context.Background()
	inc, err := c.Incidents.Create(ctx, cybervault.NewIncident{Title: "Apache Struts RCE on web tier", Severity: "critical",
		Description: "CVE-2017-5638", AffectedSystems: []string{"192.168.1.10"}})
	if err != nil || inc.String("object") != "incident" {
		t.Fatalf("%v %v", inc, err)
	}
	if _, err := c.Incidents.Comment(ctx, inc.ID(), "investigating"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Incidents.Create(ctx, cybervault.NewIncident{Title: "", Severity: "urgent", Description: "x"})
	var cvErr *cybervault.Error
	if !errors.As(err, &cvErr) || cvErr.Kind != cybervault.KindInvalidRequest || cvErr.HTTPStatus != 400 || cvErr.Param == "" {
		t.Fatalf("%v", err)
	}

	target := requireLive(t)
	bad, _ := cybervault.NewClient(cybervault.WithAPIKey("cv_test_sk_000000000000000000000000000000"), cybervault.WithBaseURL(target.baseURL))
	it := bad.Assets.List(ctx, nil)
	if it.Next() || !errors.As(it.Err(), &cvErr) || cvErr.Kind != cybervault.KindAuthentication || cvErr.Code != "invalid_api_key" ||
		cvErr.Message != "The provided API key is expired or invalid." || cvErr.RequestID == "" || cvErr.HTTPStatus != 401 {
		t.Fatalf("%v", it.Err())
	}
}

func TestLiveServerRateLimitIsRetriedThenTyped(t *testing.T) {
	target := requireLive(t)
	key := os.Getenv("CYBERVAULT_LIMITED_API_KEY")
	if key == "" {
		t.Skip("set CYBERVAULT_LIMITED_API_KEY (a key limited to 3 requests a minute)")
	}
	// MaxRetryWait caps the server's Retry-After (the rest of the minute) so the test stays fast.
	c, err := cybervault.NewClient(cybervault.WithAPIKey(key), cybervault.WithBaseURL(target.baseURL),
		cybervault.WithMaxRetries(1), cybervault.WithMaxRetryWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.GetPage(ctx, "/v1/assets", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetPage(ctx, "/v1/assets", nil)
	var cvErr *cybervault.Error
	if !errors.As(err, &cvErr) || cvErr.Kind != cybervault.KindRateLimit || cvErr.HTTPStatus != 429 || cvErr.Code != "rate_limit_exceeded" {
		t.Fatalf("%v", err)
	}
	if ra := cvErr.RetryAfter(); ra <= 0 || ra > 60 || cvErr.Header["x-ratelimit-limit"] != "3" || cvErr.Header["x-ratelimit-remaining"] != "0" ||
		cvErr.RequestID == "" || !strings.HasSuffix(cvErr.DocumentationURL, "/errors/rate_limit_exceeded") {
		t.Fatalf("details: retry-after %v, headers %v, %q %q", ra, cvErr.Header, cvErr.RequestID, cvErr.DocumentationURL)
	}
}
