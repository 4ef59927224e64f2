package cybervault_test

import (
	"os"
	"testing"
)

type liveTarget struct{ baseURL, liveKey, testKey string }

// requireLive reads the server and one organization's keys from the environment
// (tests/sdk/test_other_sdks.py in the main suite sets them for a server it starts).
func requireLive(t *testing.T) liveTarget {
	t.Helper()
	target := liveTarget{os.Getenv("CYBERVAULT_BASE_URL"), os.Getenv("CYBERVAULT_API_KEY"), os.Getenv("CYBERVAULT_TEST_API_KEY")}
	if target.baseURL == "" || target.liveKey == "" || target.testKey == "" {
		t.Skip("set CYBERVAULT_BASE_URL, CYBERVAULT_API_KEY and CYBERVAULT_TEST_API_KEY to run the live tests")
	}
	return target
}
