package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/postmortem-tool/postmortem/timeline"
)

// chdir changes into dir for the test, so display paths are relative.
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

func write(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zst(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// numbered returns n lines "<prefix> <i>\n".
func numbered(prefix string, n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "%s %d\n", prefix, i)
	}
	return sb.String()
}

type got struct {
	text string
	pos  timeline.Pos
}

func readAll(t *testing.T, s *Stream) ([]got, Stats) {
	t.Helper()
	var out []got
	st, err := s.Read(func(line []byte, pos timeline.Pos) {
		out = append(out, got{string(line), pos})
	})
	if err != nil {
		t.Fatalf("Read %s: %v", s.Name, err)
	}
	return out, st
}

func names(ss []*Stream) []string {
	var out []string
	for _, s := range ss {
		var fs []string
		for _, f := range s.Files {
			fs = append(fs, f.Path)
		}
		out = append(out, s.Name+"["+s.Backend+"]="+strings.Join(fs, ","))
	}
	return out
}

func TestDiscoverRotation(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		args  []string
		want  []string
	}{
		{
			name:  "numbered and compressed",
			files: []string{"logs/nginx/vm-a/access.log", "logs/nginx/vm-a/access.log.1", "logs/nginx/vm-a/access.log.2.gz", "logs/nginx/vm-a/access.log.10.gz"},
			args:  []string{"logs/"},
			want:  []string{"logs/nginx/vm-a/access.log[vm-a]=logs/nginx/vm-a/access.log.10.gz,logs/nginx/vm-a/access.log.2.gz,logs/nginx/vm-a/access.log.1,logs/nginx/vm-a/access.log"},
		},
		{
			name:  "dates then live",
			files: []string{"d/access.log", "d/access.log-20260502.gz", "d/access.log-20260430", "d/access.log-20260501.gz"},
			args:  []string{"d"},
			want:  []string{"d/access.log[]=d/access.log-20260430,d/access.log-20260501.gz,d/access.log-20260502.gz,d/access.log"},
		},
		{
			name:  "numbers before dates before live, zst",
			files: []string{"d/app.log", "d/app.log.1.zst", "d/app.log-20260501", "d/app.log.2"},
			args:  []string{"d"},
			want:  []string{"d/app.log[]=d/app.log.2,d/app.log.1.zst,d/app.log-20260501,d/app.log"},
		},
		{
			name:  "no live file: named after newest",
			files: []string{"d/error.log.3.gz", "d/error.log.1"},
			args:  []string{"d"},
			want:  []string{"d/error.log.1[]=d/error.log.3.gz,d/error.log.1"},
		},
		{
			name:  "separate logs stay separate, sorted",
			files: []string{"d/error.log", "d/access.log", "d/access.log.1", "d/error.log.1.gz"},
			args:  []string{"d"},
			want:  []string{"d/access.log[]=d/access.log.1,d/access.log", "d/error.log[]=d/error.log.1.gz,d/error.log"},
		},
		{
			name:  "same name in two dirs",
			files: []string{"d/vm-a/error.log", "d/vm-b/error.log", "d/vm-a/error.log.1"},
			args:  []string{"d"},
			want:  []string{"d/vm-a/error.log[vm-a]=d/vm-a/error.log.1,d/vm-a/error.log", "d/vm-b/error.log[vm-b]=d/vm-b/error.log"},
		},
		{
			name:  "members named separately still group",
			files: []string{"d/access.log", "d/access.log.1"},
			args:  []string{"d/access.log", "d/access.log.1"},
			want:  []string{"d/access.log[]=d/access.log.1,d/access.log"},
		},
		{
			name:  "hidden skipped, file reached twice read once",
			files: []string{"d/.hidden.log", "d/.git/x.log", "d/a.log"},
			args:  []string{"d", "d/a.log"},
			want:  []string{"d/a.log[]=d/a.log"},
		},
		{
			name:  "relative dot arg",
			files: []string{"vm-c/app.log"},
			args:  []string{"."},
			want:  []string{"vm-c/app.log[vm-c]=vm-c/app.log"},
		},
		{
			name:  "dot-slash arg keeps user spelling cleaned",
			files: []string{"inc/nginx/vm-a/error.log"},
			args:  []string{"./inc/"},
			want:  []string{"inc/nginx/vm-a/error.log[vm-a]=inc/nginx/vm-a/error.log"},
		},
		{
			name:  "dir arg is itself the host",
			files: []string{"inc/nginx/vm-b/error.log"},
			args:  []string{"inc/nginx/vm-b"},
			want:  []string{"inc/nginx/vm-b/error.log[vm-b]=inc/nginx/vm-b/error.log"},
		},
		{
			name:  "top-level arg dir is not a host",
			files: []string{"incident-7/haproxy/haproxy.log"},
			args:  []string{"incident-7"},
			want:  []string{"incident-7/haproxy/haproxy.log[]=incident-7/haproxy/haproxy.log"},
		},
		{
			name:  "glob",
			files: []string{"g/vm-a/error.log", "g/vm-b/error.log", "g/vm-b/access.log"},
			args:  []string{"g/*/error.log"},
			want:  []string{"g/vm-a/error.log[vm-a]=g/vm-a/error.log", "g/vm-b/error.log[vm-b]=g/vm-b/error.log"},
		},
		{
			name:  "double star glob",
			files: []string{"g/x/vm-a/error.log", "g/error.log", "g/y/z/error.log.1", "g/.h/error.log", "g/y/access.log"},
			args:  []string{"g/**/error.log*"},
			want:  []string{"g/error.log[]=g/error.log", "g/x/vm-a/error.log[vm-a]=g/x/vm-a/error.log", "g/y/z/error.log.1[]=g/y/z/error.log.1"},
		},
		{
			name:  "glob matching a dir walks it",
			files: []string{"g/vm-a/error.log", "g/vm-a/sub/x.log"},
			args:  []string{"g/vm-*"},
			want:  []string{"g/vm-a/error.log[vm-a]=g/vm-a/error.log", "g/vm-a/sub/x.log[vm-a]=g/vm-a/sub/x.log"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			chdir(t, dir)
			for _, f := range tc.files {
				write(t, f, []byte("x\n"))
			}
			ss, errs := Discover(tc.args, Options{})
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			g := names(ss)
			if strings.Join(g, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDiscoverErrors(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	write(t, "ok.log", []byte("x\n"))
	write(t, "secret.log", []byte("x\n"))
	os.Chmod("secret.log", 0)
	os.Symlink("loop.log", "loop.log") // unreadable even for root
	args := []string{"missing.log", "ok.log", "nope/*.log", "[bad", "secret.log", "also-missing/", "loop.log"}
	ss, errs := Discover(args, Options{})
	want := []string{"missing.log: ", "nope/*.log: no files match", "[bad", "also-missing/: ", "loop.log: "}
	notExist := 0
	for _, err := range errs {
		if errors.Is(err, fs.ErrNotExist) {
			notExist++
		}
	}
	if notExist != 2 {
		t.Errorf("want 2 not-exist errors, got %d: %v", notExist, errs)
	}
	wantStreams := "ok.log[]=ok.log"
	// root reads files whatever their mode.
	if os.Geteuid() != 0 && runtime.GOOS != "windows" {
		want = append(want, "secret.log: permission denied")
	} else {
		wantStreams += " secret.log[]=secret.log"
	}
	if g := strings.Join(names(ss), " "); g != wantStreams {
		t.Errorf("streams: %v", g)
	}
	all := fmt.Sprint(errs)
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("errors %q lack %q", all, w)
		}
	}
	if len(errs) < 5 {
		t.Errorf("want every error, got %d: %v", len(errs), errs)
	}
	if strings.Contains(all, dir) {
		t.Errorf("errors name the absolute temp dir: %v", errs)
	}
}

func TestBackendOverride(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	for _, f := range []string{"i/lb/lb.log", "i/nginx/vm-a/error.log", "i/app/x/app.log", "i/app/x/app.log.1"} {
		write(t, f, []byte("x\n"))
	}
	ss, errs := Discover([]string{"i"}, Options{Backends: map[string]string{
		"i/lb/lb.log":   "lb-1",
		"i/app/x":       "vm-c",
		"i/*/vm-a/*":    "short",
		"i/nginx/vm-a/": "longest-wins",
	}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := "i/app/x/app.log[vm-c]=i/app/x/app.log.1,i/app/x/app.log\ni/lb/lb.log[lb-1]=i/lb/lb.log\ni/nginx/vm-a/error.log[longest-wins]=i/nginx/vm-a/error.log"
	if g := strings.Join(names(ss), "\n"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

func TestReadRotatedCompressed(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	// Compression by magic: a gzip named .log, a zstd named .1, a plain
	// file named .gz (its name says gzip, its bytes do not).
	write(t, "d/app.log.3", gz(t, numbered("three", 3)))
	write(t, "d/app.log.2.gz", []byte(numbered("two", 2)))
	write(t, "d/app.log.1", zst(t, numbered("one", 2)))
	write(t, "d/app.log", []byte("live 1\r\nlive 2"))
	ss, errs := Discover([]string{"d/"}, Options{})
	if len(errs) != 0 || len(ss) != 1 {
		t.Fatalf("%v %v", names(ss), errs)
	}
	lines, st := readAll(t, ss[0])
	want := []string{
		"d/app.log.3:1 three 1", "d/app.log.3:2 three 2", "d/app.log.3:3 three 3",
		"d/app.log.2.gz:1 two 1", "d/app.log.2.gz:2 two 2",
		"d/app.log.1:1 one 1", "d/app.log.1:2 one 2",
		"d/app.log:1 live 1", "d/app.log:2 live 2",
	}
	var g []string
	for _, l := range lines {
		g = append(g, l.pos.String()+" "+l.text)
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if st.Lines != 9 || len(st.PerFile) != 4 || len(st.Warnings) != 0 {
		t.Errorf("stats %+v", st)
	}
	comps := []string{st.PerFile[0].Compression, st.PerFile[1].Compression, st.PerFile[2].Compression, st.PerFile[3].Compression}
	if fmt.Sprint(comps) != fmt.Sprint([]string{"gzip", "", "zstd", ""}) {
		t.Errorf("compression %q", comps)
	}
	wantBytes := int64(len(numbered("three", 3)) + len(numbered("two", 2)) + len(numbered("one", 2)) + len("live 1\r\nlive 2"))
	if st.Bytes != wantBytes {
		t.Errorf("bytes %d want %d", st.Bytes, wantBytes)
	}
	if ss[0].Files[3].ModTime.IsZero() || ss[0].Files[3].Size != 14 {
		t.Errorf("file info %+v", ss[0].Files[3])
	}
}

func TestMultiMemberGzip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.log")
	write(t, p, append(gz(t, "a\nb\n"), gz(t, "c\n")...))
	ss, _ := Discover([]string{p}, Options{})
	lines, _ := readAll(t, ss[0])
	if len(lines) != 3 || lines[2].text != "c" || lines[2].pos.Line != 3 {
		t.Errorf("got %v", lines)
	}
}

func TestTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	full := gz(t, numbered("GET /api/v1/items HTTP/1.1 200", 20000))
	write(t, "cut.log.gz", full[:len(full)/2])
	ss, errs := Discover([]string{"cut.log.gz"}, Options{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	lines, st := readAll(t, ss[0])
	if len(lines) < 1000 || len(lines) >= 20000 {
		t.Fatalf("read %d lines from half a gzip", len(lines))
	}
	for i, l := range lines {
		if w := fmt.Sprintf("GET /api/v1/items HTTP/1.1 200 %d", i+1); l.text != w || l.pos.Line != int64(i+1) {
			t.Fatalf("line %d: %q at %v", i+1, l.text, l.pos)
		}
	}
	if len(st.Warnings) != 1 {
		t.Fatalf("warnings %q", st.Warnings)
	}
	w := fmt.Sprintf("cut.log.gz: truncated gzip after %d lines: unexpected EOF", len(lines))
	if st.Warnings[0] != w {
		t.Errorf("warning %q, want %q", st.Warnings[0], w)
	}
}

func TestCorruptZstd(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	full := zst(t, numbered("backend=vm-a draining new_conn=0 active_conn=1197", 50000))
	bad := append([]byte(nil), full...)
	for i := len(bad) / 2; i < len(bad)/2+64; i++ {
		bad[i] ^= 0x5a
	}
	write(t, "bad.log", bad)
	write(t, "cut.log", full[:len(full)/3])
	for _, name := range []string{"bad.log", "cut.log"} {
		ss, errs := Discover([]string{name}, Options{})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		lines, st := readAll(t, ss[0])
		if len(lines) >= 50000 {
			t.Errorf("%s: read all %d lines of a damaged file", name, len(lines))
		}
		for i, l := range lines {
			if !strings.HasPrefix(l.text, "backend=vm-a") || l.pos.Line != int64(i+1) {
				t.Fatalf("%s: line %d = %q", name, i+1, l.text)
			}
		}
		t.Logf("%s: %d lines, %q", name, len(lines), st.Warnings)
		if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], name+": ") || !strings.Contains(st.Warnings[0], "zstd after") {
			t.Errorf("%s: warnings %q", name, st.Warnings)
		}
	}
}

func TestCorruptGzipHeader(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	write(t, "a.log.1", []byte{0x1f, 0x8b, 0xff, 0xff})
	write(t, "a.log", []byte("ok\n"))
	ss, _ := Discover([]string{"a.log", "a.log.1"}, Options{})
	lines, st := readAll(t, ss[0])
	if len(lines) != 1 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "a.log.1: corrupt gzip") {
		t.Errorf("lines %v warnings %q", lines, st.Warnings)
	}
}

func TestOverLongLine(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	var b bytes.Buffer
	b.WriteString(numbered("before", 3))
	b.Write(bytes.Repeat([]byte("x"), 10<<20))
	b.WriteString("\n")
	b.WriteString(numbered("after", 3))
	write(t, "big.log", b.Bytes())
	write(t, "big2.log", gz(t, b.String()))
	for _, name := range []string{"big.log", "big2.log"} {
		ss, _ := Discover([]string{name}, Options{})
		lines, st := readAll(t, ss[0])
		var g []string
		for _, l := range lines {
			g = append(g, fmt.Sprintf("%d:%s", l.pos.Line, l.text))
		}
		want := "1:before 1 2:before 2 3:before 3 5:after 1 6:after 2 7:after 3"
		if strings.Join(g, " ") != want {
			t.Errorf("%s: got %q", name, g)
		}
		if st.Skipped != 1 || st.Lines != 6 || st.Bytes != int64(b.Len()) {
			t.Errorf("%s: stats %+v", name, st)
		}
	}
	// A configured cap.
	write(t, "cap.log", []byte("short\n0123456789abc\nok\n"))
	ss, _ := Discover([]string{"cap.log"}, Options{MaxLineBytes: 10})
	lines, st := readAll(t, ss[0])
	if len(lines) != 2 || lines[1].pos.Line != 3 || st.Skipped != 1 {
		t.Errorf("cap: %v %+v", lines, st)
	}
}

func TestStdinReplay(t *testing.T) {
	for _, comp := range []string{"plain", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			text := "\n\n" + numbered("<134>May  1 10:00:00 lb haproxy[1]: line", 100000)
			data := []byte(text)
			if comp == "gzip" {
				data = gz(t, text)
			}
			ss, errs := Discover([]string{"-"}, Options{Stdin: bytes.NewReader(data)})
			if len(errs) != 0 || len(ss) != 1 || ss[0].Name != StdinName {
				t.Fatalf("%v %v", names(ss), errs)
			}
			s := ss[0]
			sample, err := s.Sample(5)
			if err != nil || len(sample) != 5 || !strings.HasSuffix(string(sample[0]), "line 1") {
				t.Fatalf("sample %q %v", sample, err)
			}
			// A second sample sees the same start.
			sample2, _ := s.Sample(8)
			if len(sample2) != 8 || string(sample2[4]) != string(sample[4]) {
				t.Fatalf("second sample %q", sample2)
			}
			lines, st := readAll(t, s)
			if len(lines) != 100002 || st.Lines != 100002 {
				t.Fatalf("replay read %d lines", len(lines))
			}
			if lines[2].pos != (timeline.Pos{File: StdinName, Line: 3}) || !strings.HasSuffix(lines[2].text, "line 1") ||
				!strings.HasSuffix(lines[100001].text, "line 100000") {
				t.Errorf("first %v last %v", lines[2], lines[100001])
			}
			if _, err := s.Read(func([]byte, timeline.Pos) {}); err == nil {
				t.Error("second Read of stdin did not fail")
			}
			if _, err := s.ReadLinesAt(StdinName, []int64{1}); err == nil {
				t.Error("ReadLinesAt on stdin did not fail")
			}
		})
	}
}

func TestSampleSkipsUnreadableAndBlank(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	write(t, "s/x.log.2", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}) // broken zstd
	write(t, "s/x.log.1", []byte("\n  \nold 1\n"))
	write(t, "s/x.log", []byte("new 1\nnew 2\n"))
	ss, _ := Discover([]string{"s"}, Options{})
	sample, err := ss[0].Sample(3)
	if err != nil || fmt.Sprintf("%q", sample) != `["old 1" "new 1" "new 2"]` {
		t.Errorf("sample %q %v", sample, err)
	}
}

func TestLooksBinary(t *testing.T) {
	tests := []struct {
		name   string
		sample [][]byte
		want   bool
	}{
		{"text", [][]byte{[]byte(`10.0.0.1 - - [01/May/2026:10:00:00 +0000] "GET / HTTP/1.1" 502 0`)}, false},
		{"utf8", [][]byte{[]byte("élan ünïcode ✓ 日本語 log line")}, false},
		{"ansi colours", [][]byte{[]byte("\x1b[31mERROR\x1b[0m\tfailed")}, false},
		{"latin1 sprinkle", [][]byte{[]byte("caf\xe9 is open, normal text otherwise here")}, false},
		{"nul", [][]byte{[]byte("abc\x00def")}, true},
		{"random", [][]byte{{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0xff, 0xfe, 0x81, 0x92, 0xc3}}, true},
		{"empty", nil, false},
		{"one torn line among text", [][]byte{
			[]byte("2026/05/01 14:02:02 [error] 1#1: recv() failed (104: Connection reset by peer)"),
			[]byte("abc\x00def"), []byte("line three"), []byte("line four"), []byte("line five"),
		}, false},
	}
	for _, tc := range tests {
		if got := LooksBinary(tc.sample); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestReadLinesAt(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	text := numbered("recv() failed (104: Connection reset by peer) n", 5000)
	write(t, "r/error.log", []byte(text))
	write(t, "r/error.log.1", gz(t, text))
	write(t, "r/error.log.2", zst(t, "a\r\n"+strings.Repeat("y", 2<<20)+"\nc\n"))
	for _, p := range []string{"r/error.log", "r/error.log.1"} {
		m, err := ReadLinesAt(p, []int64{4999, 1, 77, 77, 0, -3, 6000})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 3 || m[1] != "recv() failed (104: Connection reset by peer) n 1" ||
			m[77] != "recv() failed (104: Connection reset by peer) n 77" || !strings.HasSuffix(m[4999], " n 4999") {
			t.Errorf("%s: %v", p, m)
		}
	}
	ss, _ := Discover([]string{"r"}, Options{})
	m, err := ss[0].ReadLinesAt("r/error.log.2", []int64{1, 2, 3})
	if err != nil || len(m) != 2 || m[1] != "a" || m[3] != "c" {
		t.Errorf("over-long in middle: %v %v", m, err)
	}
	if _, err := ss[0].ReadLinesAt("r/other.log", []int64{1}); err == nil {
		t.Error("unknown file did not fail")
	}
	if _, err := ReadLinesAt("r/missing", []int64{1}); err == nil {
		t.Error("missing file did not fail")
	}
}

// TestReadLinesAtMarks reads a plain file of three marks' worth of lines of
// varying length, with an over-long line and CRLF endings among them, and
// checks that the marks point at line starts and that re-reading through
// them gives the same lines as reading from the start.
func TestReadLinesAtMarks(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	var sb strings.Builder
	n := 0
	for sb.Len() < 3*markEvery+markEvery/2 {
		n++
		switch {
		case n == 20000:
			sb.WriteString(strings.Repeat("z", 2000) + "\n")
		case n%7 == 0:
			fmt.Fprintf(&sb, "line %d %s\r\n", n, strings.Repeat("w", n%300))
		default:
			fmt.Fprintf(&sb, "line %d %s\n", n, strings.Repeat("v", n%113))
		}
	}
	text := sb.String()
	write(t, "m/app.log", []byte(text))
	write(t, "m/app.log.1.gz", gz(t, "line 1 gz\n"))
	ss, _ := Discover([]string{"m"}, Options{MaxLineBytes: 1000})
	_, st := readAll(t, ss[0])
	var marks []Mark
	for _, f := range st.PerFile {
		if strings.HasSuffix(f.Path, ".gz") && len(f.Marks) != 0 {
			t.Errorf("%s: compressed file has marks %v", f.Path, f.Marks)
		}
		if f.Path == "m/app.log" {
			marks = f.Marks
		}
	}
	if len(marks) < 3 {
		t.Fatalf("%d marks over %d bytes, want 3 or more", len(marks), len(text))
	}
	for _, m := range marks {
		if m.Offset == 0 || text[m.Offset-1] != '\n' || !strings.HasPrefix(text[m.Offset:], fmt.Sprintf("line %d ", m.Line)) {
			t.Errorf("mark %+v is not the start of line %d", m, m.Line)
		}
	}
	want := []int64{int64(n), 3, marks[1].Line, marks[1].Line - 1, marks[2].Line + 5, 20000, 20001, marks[0].Line, int64(n) + 3, 0}
	plain, err := ReadLinesAt("m/app.log", want)
	if err != nil {
		t.Fatal(err)
	}
	seek, err := ReadLinesAtMarks("m/app.log", want, marks)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, seek) || len(seek) != 8 {
		t.Errorf("through marks: %d lines, want the same %d as from the start\n got %v", len(seek), len(plain), seek)
	}
}

func TestEmptyAndVanished(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	write(t, "e/empty.log", nil)
	write(t, "e/gone.log", []byte("x\n"))
	ss, _ := Discover([]string{"e"}, Options{})
	os.Remove("e/gone.log")
	lines, st := readAll(t, ss[0])
	if len(lines) != 0 || st.Lines != 0 || len(st.Warnings) != 0 {
		t.Errorf("empty: %v %+v", lines, st)
	}
	if _, err := ss[1].Read(func([]byte, timeline.Pos) {}); err == nil {
		t.Errorf("vanished file did not fail")
	}
}
