package ingest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/postmortem-tool/postmortem/timeline"
)

// benchData returns ~size bytes of nginx-access-shaped lines.
func benchData(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 256)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "10.0.%d.%d - - [01/May/2026:10:%02d:%02d +0000] \"GET /api/v1/items/%d HTTP/1.1\" %d 512 \"-\" \"curl/8.5.0\" rt=0.%03d uct=\"0.001\" urt=\"0.%03d\"\n",
			i%250, i%200, (i/60)%60, i%60, i, 200+(i%7)*50, i%1000, i%997)
	}
	return b.Bytes()
}

// BenchmarkRead reads a ~64 MiB file (plain, gzip, zstd) through Stream.Read;
// MB/s is of decompressed bytes.
func BenchmarkRead(b *testing.B) {
	data := benchData(64 << 20)
	for _, comp := range []string{"plain", "gzip", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			dir := b.TempDir()
			p := filepath.Join(dir, "access.log")
			switch comp {
			case "plain":
				write(b, p, data)
			case "gzip":
				write(b, p, gz(b, string(data)))
			case "zstd":
				write(b, p, zst(b, string(data)))
			}
			ss, errs := Discover([]string{p}, Options{})
			if len(errs) != 0 {
				b.Fatal(errs)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var n int64
				st, err := ss[0].Read(func(line []byte, pos timeline.Pos) { n += int64(len(line)) + 1 })
				if err != nil || st.Bytes != int64(len(data)) || n != st.Bytes {
					b.Fatalf("read %d/%d bytes: %v", n, st.Bytes, err)
				}
			}
		})
	}
}
