package templates

import (
	"bytes"
	"html"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders GFM tables, strikethrough and task lists. It is built
// without html.WithUnsafe: raw HTML in the input is dropped (goldmark writes
// an "omitted" comment instead) and dangerous link URLs are not emitted.
// Autolinking of bare URLs (Linkify) is left off on purpose: log text
// should not turn into links.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.TaskList),
)

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="postmortem">
<title>`

const pageStyle = `</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:64rem;margin:2rem auto;padding:0 1rem}
h1,h2,h3{line-height:1.25}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:1rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;vertical-align:top;text-align:left}
th{background:#f6f8fa}code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:.1rem .3rem;border-radius:4px;overflow-wrap:anywhere}
blockquote{margin:0;padding:0 1rem;color:#59636e;border-left:.25rem solid #d0d7de}
li{margin:.2rem 0}ul.contains-task-list,ul:has(> li > input){list-style:none;padding-left:1.2rem}
</style>
</head>
<body>
<main>
`

const pageFoot = `</main>
</body>
</html>
`

// RenderHTML renders Markdown (a draft) as a complete HTML page with a
// small inline stylesheet. The page title is the text of the first "# "
// heading. Rendering is in safe mode: raw HTML in md is never copied to the
// output, so log text that reached the Markdown unescaped still cannot
// inject markup or script.
func RenderHTML(md []byte) ([]byte, error) {
	var body bytes.Buffer
	if err := markdown.Convert(md, &body); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(body.Len() + len(pageHead) + len(pageStyle) + len(pageFoot) + 64)
	out.WriteString(pageHead)
	out.WriteString(html.EscapeString(pageTitle(md)))
	out.WriteString(pageStyle)
	out.Write(body.Bytes())
	out.WriteString(pageFoot)
	return out.Bytes(), nil
}

// pageTitle returns the first level-1 ATX heading of md as plain text:
// backslash escapes removed and character references decoded (the caller
// escapes it again for HTML).
func pageTitle(md []byte) string {
	for _, l := range strings.Split(string(md), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "# "); ok {
			var sb strings.Builder
			for i := 0; i < len(t); i++ {
				if t[i] == '\\' && i+1 < len(t) && isASCIIPunct(t[i+1]) {
					i++
				}
				sb.WriteByte(t[i])
			}
			return strings.TrimSpace(html.UnescapeString(sb.String()))
		}
	}
	return "Postmortem draft"
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}
