package cybervault_test

// Field paths and matchers of the conformance scenario (sdks/conformance/README.md).

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type missing struct{}

func lookup(doc any, path string) any {
	if path == "" {
		return doc
	}
	parts := strings.Split(path, ".")
	current := doc
	for i, part := range parts {
		if part == "*" {
			list, ok := current.([]any)
			if !ok {
				return missing{}
			}
			out := make([]any, len(list))
			for j, item := range list {
				out[j] = lookup(item, strings.Join(parts[i+1:], "."))
			}
			return out
		}
		switch x := current.(type) {
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n >= len(x) {
				return missing{}
			}
			current = x[n]
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return missing{}
			}
			current = v
		default:
			return missing{}
		}
	}
	return current
}

// normalize turns json.Number into float64 so values compare with the scenario's decoded JSON.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = normalize(item)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, item := range x {
			out[k] = normalize(item)
		}
		return out
	}
	return v
}

func matches(actual, expected any) string {
	actual = normalize(actual)
	if m, ok := expected.(map[string]any); ok && len(m) == 1 {
		for op, arg := range m {
			if !strings.HasPrefix(op, "$") {
				break
			}
			_, isMissing := actual.(missing)
			if op == "$exists" {
				if !isMissing == arg.(bool) {
					return ""
				}
				return fmt.Sprintf("exists=%v", !isMissing)
			}
			if isMissing {
				return "missing"
			}
			var pass bool
			switch op {
			case "$prefix":
				s, ok := actual.(string)
				pass = ok && strings.HasPrefix(s, arg.(string))
			case "$suffix":
				s, ok := actual.(string)
				pass = ok && strings.HasSuffix(s, arg.(string))
			case "$regex":
				s, ok := actual.(string)
				pass = ok && regexp.MustCompile(arg.(string)).MatchString(s)
			case "$len":
				n := -1
				switch x := actual.(type) {
				case []any:
					n = len(x)
				case string:
					n = len(x)
				case map[string]any:
					n = len(x)
				}
				pass = float64(n) == arg.(float64)
			case "$contains":
				list, _ := actual.([]any)
				for _, item := range list {
					pass = pass || reflect.DeepEqual(item, arg)
				}
			case "$in":
				for _, item := range arg.([]any) {
					pass = pass || reflect.DeepEqual(item, actual)
				}
			case "$gte":
				f, ok := actual.(float64)
				pass = ok && f >= arg.(float64)
			case "$keys":
				obj, ok := actual.(map[string]any)
				if ok {
					var have, want []string
					for k := range obj {
						have = append(have, k)
					}
					for _, k := range arg.([]any) {
						want = append(want, k.(string))
					}
					sort.Strings(have)
					sort.Strings(want)
					pass = reflect.DeepEqual(have, want)
				}
			case "$type":
				switch arg.(string) {
				case "string":
					_, pass = actual.(string)
				case "number":
					_, pass = actual.(float64)
				case "integer":
					f, ok := actual.(float64)
					pass = ok && f == float64(int64(f))
				case "boolean":
					_, pass = actual.(bool)
				case "object":
					_, pass = actual.(map[string]any)
				case "array":
					_, pass = actual.([]any)
				case "null":
					pass = actual == nil
				}
			default:
				return "unknown matcher " + op
			}
			if pass {
				return ""
			}
			return fmt.Sprintf("%s %v failed for %#v", op, arg, actual)
		}
	}
	if _, isMissing := actual.(missing); isMissing {
		return "missing"
	}
	if reflect.DeepEqual(actual, expected) {
		return ""
	}
	return fmt.Sprintf("expected %#v, got %#v", expected, actual)
}
