package nginx

import (
	"bytes"
	"testing"
)

// scanExtrasRef is the plain version of scanExtras (IndexByte per field), kept
// as the reference that FuzzScanExtras compares the fast one with. It reads key=value fields: uct (connect time), us (upstream
// status) and ua (upstream address). Values may be quoted and may be lists
// joined by ", " or " : ".
func scanExtrasRef(b []byte, x *extras) {
	for len(b) > 0 {
		eq := bytes.IndexByte(b, '=')
		if eq < 0 {
			return
		}
		ks := bytes.LastIndexByte(b[:eq], ' ')
		key := b[ks+1 : eq]
		v := b[eq+1:]
		var val []byte
		if len(v) > 0 && v[0] == '"' {
			q := bytes.IndexByte(v[1:], '"')
			if q < 0 {
				val, b = v[1:], nil
			} else {
				val, b = v[1:1+q], v[q+2:]
			}
		} else {
			n := listEnd(v)
			val, b = v[:n], v[n:]
		}
		switch string(key) {
		case "uct":
			uctList(val, x)
		case "us":
			usList(val, x)
		case "ua":
			if n := listItemEnd(val); n > 0 && !(n == 1 && val[0] == '-') {
				x.upstream = val[:n]
			}
		}
	}
}

func FuzzScanExtras(f *testing.F) {
	for _, s := range []string{
		` rt=0.037 uct=0.000 urt=0.036 us=502 ua=10.0.0.3:8080`,
		` rt=1.2 uct="0.001, 0.002" us="502, 200" ua="10.0.0.3:8080, 10.0.0.4:8080"`,
		` uct=0.001 : 0.003 us=504 : 502 ua=- `,
		` foo bar=1 "x y" us=5xx ua="a=b`,
		` =5 us= uct=,  ua=,x`,
		` us=502,  200 uct=0.5 :  1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want extras
		scanExtras(b, &got)
		scanExtrasRef(b, &want)
		if got.uctSum != want.uctSum && !(got.uctSum != got.uctSum && want.uctSum != want.uctSum) || got.uctOK != want.uctOK || got.up5xx != want.up5xx || !bytes.Equal(got.upstream, want.upstream) {
			t.Fatalf("scanExtras(%q) = %+v, reference gives %+v", b, got, want)
		}
	})
}
