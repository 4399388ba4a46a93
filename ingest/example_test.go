package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/timeline"
)

func Example() {
	dir, _ := os.MkdirTemp("", "ingest-example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "nginx", "vm-a"), 0o755)
	os.WriteFile(filepath.Join(dir, "nginx", "vm-a", "error.log.1"), []byte("old line\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nginx", "vm-a", "error.log"), []byte("new line\r\n"), 0o644)
	old, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(old)

	streams, errs := ingest.Discover([]string{"nginx/"}, ingest.Options{})
	for _, err := range errs {
		fmt.Println("error:", err) // the CLI exits 2
	}
	for _, s := range streams {
		sample, _ := s.Sample(10)
		if ingest.LooksBinary(sample) {
			fmt.Println(s.Name, "binary file, skipped")
			continue
		}
		fmt.Printf("stream %s backend=%s files=%d\n", s.Name, s.Backend, len(s.Files))
		st, _ := s.Read(func(line []byte, pos timeline.Pos) {
			fmt.Printf("  %s %s\n", pos, line)
		})
		fmt.Println("  lines:", st.Lines, "warnings:", len(st.Warnings))
	}
	// Output:
	// stream nginx/vm-a/error.log backend=vm-a files=2
	//   nginx/vm-a/error.log.1:1 old line
	//   nginx/vm-a/error.log:1 new line
	//   lines: 2 warnings: 0
}
