package cybervault

import (
	"context"
	"errors"
	"math"
	mathrand "math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The retry policy, the same in every CyberVault SDK: what is retried and how long to wait.

// isDialError: the request never left this machine, so even a non-idempotent request may be retried.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func shouldRetryStatus(status int, body any) bool {
	if status == 409 {
		doc, _ := body.(map[string]any)
		fields, _ := doc["error"].(map[string]any)
		code, _ := fields["code"].(string)
		return !permanentConflictCodes[code]
	}
	return status == 429 || status >= 500
}

// hintedDelay is the wait the server asked for: Retry-After (seconds or an HTTP date) first, then
// X-RateLimit-Reset (unix seconds) on a 429.
func hintedDelay(header map[string]string, status int, now time.Time) (time.Duration, bool) {
	if v := header["retry-after"]; v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(math.Max(0, secs) * float64(time.Second)), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return maxDuration(0, at.Sub(now)), true
		}
	}
	if v := header["x-ratelimit-reset"]; status == 429 && v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil {
			return maxDuration(0, time.Duration((secs-float64(now.UnixNano())/1e9)*float64(time.Second))), true
		}
	}
	return 0, false
}

// backoff: 0.5 s, 1 s, 2 s … up to 8 s, times a random factor in [0.5, 1] so clients do not retry in step.
func backoff(attempt int) time.Duration {
	base := float64(initialRetryDelay) * math.Pow(2, float64(attempt-1))
	if base > float64(maxRetryDelay) {
		base = float64(maxRetryDelay)
	}
	jitterMu.Lock()
	factor := 0.5 + jitter.Float64()/2
	jitterMu.Unlock()
	return time.Duration(base * factor)
}

// Go before 1.20 seeds the global math/rand with 1: every process would jitter identically.
var (
	jitterMu sync.Mutex
	jitter   = mathrand.New(mathrand.NewSource(time.Now().UnixNano()))
)

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
