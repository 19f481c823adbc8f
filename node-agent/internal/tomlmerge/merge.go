// Package tomlmerge merges structured overrides (decoded from JSON) into a TOML document
// decoded by github.com/pelletier/go-toml/v2, key by key:
//
//   - a table in the file and an object in the override: merged recursively;
//   - an array in the file: replaced whole by the override's array (its elements converted to
//     the type of the file's elements when the file's array is non-empty and of one type);
//   - any other value: replaced, but only by a value of the same TOML type (an integer stays
//     an integer, a string a string); a different type is an error naming the key path;
//   - a key the file does not have, at any depth, is reported as unknown (with a "did you
//     mean" when a key of that table is close), because the file was written by the node's
//     own binary and so already holds every key that binary reads.
//
// All problems are collected and returned together, so one run shows every mistake.
package tomlmerge

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// Problems is every problem found in one merge.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return p[0]
	}
	return fmt.Sprintf("%d problems:\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// Merge returns a deep copy of doc with overrides applied. prefix names the document in
// messages (e.g. "configToml"). Overrides must come from encoding/json with UseNumber, so
// numbers arrive as json.Number and integers can be told from floats.
func Merge(doc, overrides map[string]any, prefix string) (map[string]any, error) {
	var probs Problems
	out := mergeTable(doc, overrides, prefix, &probs)
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

func mergeTable(cur, ov map[string]any, path string, probs *Problems) map[string]any {
	out := make(map[string]any, len(cur))
	for k, v := range cur {
		out[k] = deepCopy(v)
	}
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := join(path, k)
		old, ok := cur[k]
		if !ok {
			msg := fmt.Sprintf("%s: unknown key (the file has no %q here)", p, k)
			if s := suggest(k, cur); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			*probs = append(*probs, msg)
			continue
		}
		if v, ok := convert(old, ov[k], p, probs); ok {
			out[k] = v
		}
	}
	return out
}

// convert returns ov converted to the TOML type of old, or reports why it cannot be.
func convert(old, ov any, path string, probs *Problems) (any, bool) {
	if ov == nil {
		*probs = append(*probs, fmt.Sprintf("%s: null is not a TOML value; give %s or leave the key out", path, a(typeName(old))))
		return nil, false
	}
	mismatch := func() (any, bool) {
		*probs = append(*probs, fmt.Sprintf("%s: the file has %s (%s) but the override is %s (%s); give %s",
			path, a(typeName(old)), brief(old), a(jsonTypeName(ov)), brief(ov), a(typeName(old))))
		return nil, false
	}
	switch o := old.(type) {
	case map[string]any:
		m, ok := ov.(map[string]any)
		if !ok {
			return mismatch()
		}
		return mergeTable(o, m, path, probs), true
	case []any:
		arr, ok := ov.([]any)
		if !ok {
			return mismatch()
		}
		elem, uniform := elementTemplate(o)
		res := make([]any, 0, len(arr))
		good := true
		for i, e := range arr {
			ep := fmt.Sprintf("%s[%d]", path, i)
			var v any
			var ok bool
			if uniform {
				if _, isTbl := elem.(map[string]any); isTbl {
					// An array of tables: each element is a new table; its keys are taken as
					// given (the file's first element is no schema for the others).
					m, isMap := e.(map[string]any)
					if !isMap {
						*probs = append(*probs, fmt.Sprintf("%s: the file has an array of tables but this element is a %s", ep, jsonTypeName(e)))
						good = false
						continue
					}
					v, ok = natural(m, ep, probs)
				} else {
					v, ok = convert(elem, e, ep, probs)
				}
			} else {
				v, ok = natural(e, ep, probs)
			}
			if !ok {
				good = false
				continue
			}
			res = append(res, v)
		}
		return res, good
	case int64:
		n, ok := ov.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			// 5.0 or 5e3 in JSON for an integer key: accept only exact integers.
			f, ferr := n.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				*probs = append(*probs, fmt.Sprintf("%s: the file has an integer (%d) but the override is %s, not an integer", path, o, n))
				return nil, false
			}
			i = int64(f)
		}
		return i, true
	case float64:
		n, ok := ov.(json.Number)
		if !ok {
			return mismatch()
		}
		f, err := n.Float64()
		if err != nil {
			*probs = append(*probs, fmt.Sprintf("%s: %s is not a float: %v", path, n, err))
			return nil, false
		}
		return f, true
	case string:
		s, ok := ov.(string)
		if !ok {
			return mismatch()
		}
		return s, true
	case bool:
		b, ok := ov.(bool)
		if !ok {
			return mismatch()
		}
		return b, true
	case time.Time:
		s, ok := ov.(string)
		if !ok {
			return mismatch()
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			*probs = append(*probs, fmt.Sprintf("%s: the file has a date-time; %q is not RFC 3339 (e.g. 2006-01-02T15:04:05Z)", path, s))
			return nil, false
		}
		return t, true
	case toml.LocalDateTime, toml.LocalDate, toml.LocalTime:
		s, ok := ov.(string)
		if !ok {
			return mismatch()
		}
		var err error
		var v any
		switch old.(type) {
		case toml.LocalDateTime:
			var x toml.LocalDateTime
			err = x.UnmarshalText([]byte(s))
			v = x
		case toml.LocalDate:
			var x toml.LocalDate
			err = x.UnmarshalText([]byte(s))
			v = x
		default:
			var x toml.LocalTime
			err = x.UnmarshalText([]byte(s))
			v = x
		}
		if err != nil {
			*probs = append(*probs, fmt.Sprintf("%s: the file has %s; %q does not parse as one: %v", path, a(typeName(old)), s, err))
			return nil, false
		}
		return v, true
	default:
		*probs = append(*probs, fmt.Sprintf("%s: the file's value has type %T, which this agent cannot override", path, old))
		return nil, false
	}
}

// natural converts a JSON value to a TOML value with no existing value to follow: integers
// stay integers (no '.', 'e' or 'E' in the JSON literal), other numbers become floats.
func natural(v any, path string, probs *Problems) (any, bool) {
	switch x := v.(type) {
	case nil:
		*probs = append(*probs, fmt.Sprintf("%s: null is not a TOML value", path))
		return nil, false
	case json.Number:
		if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return i, true
		}
		f, err := x.Float64()
		if err != nil {
			*probs = append(*probs, fmt.Sprintf("%s: %s is not a number TOML can hold: %v", path, x, err))
			return nil, false
		}
		return f, true
	case string, bool:
		return x, true
	case []any:
		out := make([]any, 0, len(x))
		good := true
		for i, e := range x {
			c, ok := natural(e, fmt.Sprintf("%s[%d]", path, i), probs)
			if !ok {
				good = false
				continue
			}
			out = append(out, c)
		}
		return out, good
	case map[string]any:
		out := make(map[string]any, len(x))
		good := true
		for k, e := range x {
			c, ok := natural(e, join(path, k), probs)
			if !ok {
				good = false
				continue
			}
			out[k] = c
		}
		return out, good
	default:
		*probs = append(*probs, fmt.Sprintf("%s: unsupported value of type %T", path, v))
		return nil, false
	}
}

// elementTemplate returns the first element of arr when all elements have one TOML type.
func elementTemplate(arr []any) (any, bool) {
	if len(arr) == 0 {
		return nil, false
	}
	t := typeName(arr[0])
	for _, e := range arr[1:] {
		if typeName(e) != t {
			return nil, false
		}
	}
	return arr[0], true
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "table"
	case []any:
		return "array"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case bool:
		return "boolean"
	case time.Time:
		return "date-time"
	case toml.LocalDateTime:
		return "local date-time"
	case toml.LocalDate:
		return "local date"
	case toml.LocalTime:
		return "local time"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// a puts "a" or "an" before a type name.
func a(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

func jsonTypeName(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case json.Number:
		if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// brief renders a value for a message, shortened.
func brief(v any) string {
	var s string
	switch x := v.(type) {
	case map[string]any:
		s = "{…}"
	case []any:
		s = fmt.Sprintf("[%d elements]", len(x))
	case string:
		s = strconv.Quote(x)
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest returns the key of table closest to k, if close enough to be a likely typo:
// the same after folding case and '-' / '_', or within a small edit distance.
func suggest(k string, table map[string]any) string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }
	best, bestD := "", math.MaxInt
	for cand := range table {
		if fold(cand) == fold(k) {
			return cand
		}
		d := levenshtein(fold(k), fold(cand))
		if d < bestD || (d == bestD && cand < best) {
			best, bestD = cand, d
		}
	}
	limit := 2
	if len(k) >= 12 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	default:
		return v
	}
}

// Decode parses a TOML document into the generic form Merge works on.
func Decode(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Encode renders a document back to TOML.
func Encode(doc map[string]any) ([]byte, error) {
	return toml.Marshal(doc)
}

// DecodeOverrides parses JSON keeping numbers as json.Number.
func DecodeOverrides(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	if m == nil {
		return nil, fmt.Errorf("expected a JSON object, got null")
	}
	return m, nil
}
