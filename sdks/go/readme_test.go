package cybervault_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeQuickStart runs the README's quick start as written against the live server, with the sandbox key.
func TestReadmeQuickStart(t *testing.T) {
	target := requireLive(t)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)[strings.Index(string(readme), "## Quick start"):]
	code := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section)[1]
	sdk, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module quickstart\n\ngo 1.19\n\nrequire github.com/cybervault/sdk-go v0.0.0\n\nreplace github.com/cybervault/sdk-go => " + sdk + "\n"
	for name, text := range map[string]string{"go.mod": gomod, "main.go": code} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CYBERVAULT_API_KEY="+target.testKey, "CYBERVAULT_BASE_URL="+target.baseURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^sc_\w+ completed 2$`, `critical\s+vulnerable_service\s+.*CVE-2017-5638`, `(?m)^inc_\w+ \w+ open$`, `(?m)^invalid_request title `} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
