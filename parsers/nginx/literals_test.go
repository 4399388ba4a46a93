package nginx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestErrorLiteralsCoverClassify reads classify and reload from error.go:
// every errno compared against and every phrase searched for with bytes.Contains, HasPrefix or HasSuffix must be in
// errorLiterals (errno N as "N: "), so that the prefilter cannot drop a
// line these functions turn into an event.
func TestErrorLiteralsCoverClassify(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || (fd.Name.Name != "classify" && fd.Name.Name != "reload") {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "errno" && x.Op == token.EQL {
					if bl, ok := x.Y.(*ast.BasicLit); ok && bl.Kind == token.INT {
						found++
						if !slices.Contains(errorLiterals, bl.Value+": ") {
							t.Errorf("errno %s is missing from errorLiterals", bl.Value)
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok || !slices.Contains([]string{"Contains", "HasPrefix", "HasSuffix"}, sel.Sel.Name) {
					return true
				}
				ast.Inspect(x, func(n ast.Node) bool {
					bl, ok := n.(*ast.BasicLit)
					if !ok || bl.Kind != token.STRING {
						return true
					}
					s, _ := strconv.Unquote(bl.Value)
					found++
					if !slices.Contains(errorLiterals, strings.ToLower(s)) {
						t.Errorf("phrase %q is missing from errorLiterals", s)
					}
					return true
				})
			}
			return true
		})
	}
	if found < 10 {
		t.Fatalf("found only %d errnos and phrases in classify and reload", found)
	}
}
