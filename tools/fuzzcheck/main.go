// Command fuzzcheck is a CI check: every exported function or method named
// Parse*, Decode*, Load* or Unmarshal* in firmware/, drivers/ and boards/
// (the parsers of outside bytes) must be called by a fuzz target of its
// package, or be listed with a reason in tools/fuzzcheck/allow.txt. An
// allow-list entry that no longer names such a function, or names one a
// fuzz target now covers, is an error too, so the list stays true.
//
// A fuzz target covers the functions its f.Fuzz function calls by name (not
// its setup, which runs on fixed input), and those called by the helpers of
// the same package's test files it calls. `make
// fuzzcheck` runs it, and `make lint` calls that.
//
// It reads source with go/parser only: it knows nothing of the firmware.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// prefixes name the parsers.
var prefixes = []string{"Parse", "Decode", "Load", "Unmarshal"}

// roots are the trees checked, relative to the module root.
var roots = []string{"firmware", "drivers", "boards"}

func main() {
	root := flag.String("root", ".", "the module root")
	allowPath := flag.String("allow", "tools/fuzzcheck/allow.txt", "the allow-list, relative to the root")
	verbose := flag.Bool("v", false, "list every parser found and how it is covered")
	flag.Parse()
	if *verbose {
		report = func(id, how string) { fmt.Printf("%-50s %s\n", id, how) }
	}
	problems, err := check(*root, *allowPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fuzzcheck:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "fuzzcheck: %d problems: add a fuzz target (a *_fuzz_test.go beside the parser) or a line to %s\n", len(problems), *allowPath)
		os.Exit(1)
	}
	fmt.Println("fuzzcheck: every parser of outside bytes has a fuzz target or a reason")
}

// report, when set, hears how each parser is covered.
var report func(id, how string)

// pkgInfo is what one directory declares and what its fuzz targets call.
type pkgInfo struct {
	parsers []string        // "Func" or "Type.Method"
	covered map[string]bool // names called from fuzz targets (bare names)
}

// check returns the problems found, one line each, sorted.
func check(root, allowPath string) ([]string, error) {
	pkgs := map[string]*pkgInfo{} // by directory, relative to root, slash-separated
	for _, r := range roots {
		err := filepath.WalkDir(filepath.Join(root, r), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			info, err := scanDir(path)
			if err != nil {
				return err
			}
			if info != nil {
				rel, _ := filepath.Rel(root, path)
				pkgs[filepath.ToSlash(rel)] = info
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	allow, err := readAllow(filepath.Join(root, allowPath))
	if err != nil {
		return nil, err
	}
	var problems []string
	seen := map[string]bool{}
	for dir, p := range pkgs {
		for _, name := range p.parsers {
			id := dir + "." + name
			seen[id] = true
			bare := name[strings.LastIndex(name, ".")+1:]
			_, listed := allow[id]
			if report != nil {
				how := map[bool]string{true: "fuzzed", false: "allowed: " + allow[id]}[p.covered[bare]]
				if !p.covered[bare] && !listed {
					how = "MISSING"
				}
				report(id, how)
			}
			switch {
			case p.covered[bare] && listed:
				problems = append(problems, fmt.Sprintf("%s: has a fuzz target; remove it from the allow-list", id))
			case !p.covered[bare] && !listed:
				problems = append(problems, fmt.Sprintf("%s: no fuzz target calls it, and it is not in the allow-list", id))
			}
		}
	}
	for id := range allow {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("%s: in the allow-list, but no such exported parser", id))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// isParser reports whether an exported name is a parser's.
func isParser(name string) bool {
	if !ast.IsExported(name) {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// scanDir parses one directory's Go files; nil when it has none.
func scanDir(dir string) (*pkgInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	info := &pkgInfo{covered: map[string]bool{}}
	helpers := map[string]*ast.FuncDecl{} // test-file functions, by name
	var fuzzers []*ast.FuncDecl
	any := false
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") {
			continue
		}
		any = true
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		test := strings.HasSuffix(name, "_test.go")
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if test {
				if fn.Recv == nil {
					helpers[fn.Name.Name] = fn
					if strings.HasPrefix(fn.Name.Name, "Fuzz") {
						fuzzers = append(fuzzers, fn)
					}
				}
				continue
			}
			if !isParser(fn.Name.Name) || f.Name.Name == "main" {
				continue
			}
			if fn.Recv == nil {
				info.parsers = append(info.parsers, fn.Name.Name)
				continue
			}
			recv := receiverType(fn.Recv.List[0].Type)
			if ast.IsExported(recv) {
				info.parsers = append(info.parsers, recv+"."+fn.Name.Name)
			}
		}
	}
	if !any {
		return nil, nil
	}
	// What the fuzz targets' f.Fuzz functions call (not their setup, which
	// runs on fixed input), through the package's test helpers.
	visited := map[string]bool{}
	var visit func(body ast.Node)
	visitHelper := func(name string) {
		if h, ok := helpers[name]; ok && !visited[name] {
			visited[name] = true
			visit(h.Body)
		}
	}
	visit = func(body ast.Node) {
		ast.Inspect(body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch f := call.Fun.(type) {
			case *ast.Ident:
				name = f.Name
			case *ast.SelectorExpr:
				name = f.Sel.Name
			case *ast.IndexExpr: // a generic call
				if id, ok := f.X.(*ast.Ident); ok {
					name = id.Name
				}
			}
			if name == "" {
				return true
			}
			info.covered[name] = true
			visitHelper(name)
			return true
		})
	}
	for _, fz := range fuzzers {
		ast.Inspect(fz.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Fuzz" {
				return true
			}
			switch fn := call.Args[0].(type) {
			case *ast.FuncLit:
				visit(fn.Body)
			case *ast.Ident:
				visitHelper(fn.Name)
			}
			return false
		})
	}
	return info, nil
}

func receiverType(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverType(t.X)
	case *ast.IndexExpr:
		return receiverType(t.X)
	case *ast.IndexListExpr:
		return receiverType(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

// readAllow reads "dir.Name: reason" lines; # starts a comment. Every
// entry needs a reason.
func readAllow(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, ok := strings.Cut(line, ":")
		id, reason = strings.TrimSpace(id), strings.TrimSpace(reason)
		if !ok || id == "" || reason == "" {
			return nil, fmt.Errorf("%s:%d: want \"dir.Name: reason\"", filepath.Base(path), n)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", filepath.Base(path), n, id)
		}
		out[id] = reason
	}
	return out, sc.Err()
}
