package jsonl

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode checks that decode, with its fast path for flat objects,
// gives exactly what encoding/json gives: the same map, or a refusal.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/ws-metrics.log", "testdata/mixed.log"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			f.Add(l)
		}
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1,"a":2}`, `{"a":-0.5e+3,"b":true,"c":null,"d":false}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":1,}`, `{"a" 1}`,
		`{"a":"x\"y"}`, `{"a":"\u00e9"}`, "{\"a\":\"caf\xc3\xa9\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\x01\"}",
		`{"a":{"b":1}}`, `{"a":[1,2]}`, `{"a":truex}`, `{"a":nul}`, `{"a":1}trailing`, `{"a":1`,
		"{\"a\":1\t,\r\n\"b\" : \"c\"}", `{"":""}`, `{"a":"}"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, gok := decode([]byte(line))
		b := []byte(strings.TrimSpace(line))
		var want map[string]any
		wok := false
		if len(b) >= 2 && b[0] == '{' {
			want, wok = decodeJSON(b)
		}
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %#v, %v; encoding/json gives %#v, %v", line, got, gok, want, wok)
		}
	})
}
