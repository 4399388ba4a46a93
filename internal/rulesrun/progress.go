package rulesrun

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/postmortem-tool/postmortem/ingest"
)

// Progress is a terminal progress bar over the uncompressed bytes of a run,
// with bytes/s and ETA. The zero value and a nil *Progress do nothing.
type Progress struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	done atomic.Int64
}

// NewProgress starts a bar written to w for an expected total of bytes
// (0 when unknown: the bar then shows what was read). Callers create it
// only when w is a terminal.
func NewProgress(w io.Writer, total int64) *Progress {
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh())
	start := time.Now()
	bar := p.AddBar(total,
		mpb.PrependDecorators(
			decor.Name("reading ", decor.WC{C: decor.DindentRight}),
			decor.CountersKibiByte("% .1f / % .1f"),
		),
		mpb.AppendDecorators(
			// The average speed over the whole run, also once complete.
			decor.Any(func(st decor.Statistics) string {
				el := time.Since(start).Seconds()
				if el <= 0 {
					return ""
				}
				return fmt.Sprintf(" %.1f MiB/s", float64(st.Current)/el/(1<<20))
			}),
			decor.Name("  ETA "),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done"),
		),
	)
	return &Progress{p: p, bar: bar}
}

// Add records n more bytes read; safe from any goroutine.
func (pr *Progress) Add(n int64) {
	if pr == nil || pr.bar == nil {
		return
	}
	v := pr.done.Add(n)
	if t := pr.bar.Current(); v > t {
		pr.bar.IncrInt64(v - t)
	}
}

// Finish completes the bar (whatever the estimate was) and waits until it
// is drawn for the last time.
func (pr *Progress) Finish() {
	if pr == nil || pr.p == nil {
		return
	}
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
}

// EstimateBytes estimates the uncompressed size of the inputs, to give the
// bar a total: plain files count their size; gzip files the size their
// trailer states (exact for a single member under 4 GiB); zstd files five
// times their size. Standard input and unreadable files count 0.
func EstimateBytes(streams []*ingest.Stream) int64 {
	var total int64
	for _, st := range streams {
		for _, f := range st.Files {
			if f.OSPath == "" || f.Size <= 0 {
				continue
			}
			total += estimateFile(f.OSPath, f.Size)
		}
	}
	return total
}

func estimateFile(path string, size int64) int64 {
	fh, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer fh.Close()
	var head [4]byte
	if _, err := io.ReadFull(fh, head[:]); err != nil {
		return size
	}
	switch {
	case head[0] == 0x1f && head[1] == 0x8b:
		var tail [4]byte
		if size < 18 {
			return size
		}
		if _, err := fh.ReadAt(tail[:], size-4); err != nil {
			return size
		}
		if n := int64(binary.LittleEndian.Uint32(tail[:])); n > 0 {
			return n
		}
		return size * 5
	case head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd:
		return size * 5
	}
	return size
}
