package main

import (
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A block is a ```go block of a README.md.
type block struct {
	readme string // slash-separated, relative to the repository root
	line   int    // of the opening fence
	code   string
}

func (b block) pos() string { return fmt.Sprintf("%s:%d", b.readme, b.line) }

// parse returns the block's package name and imports. A block that is not a complete
// Go file (a fragment without a package clause, say) is an error.
func (b block) parse() (pkg string, imports []string, err error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", b.code, parser.ImportsOnly)
	if err != nil {
		return "", nil, fmt.Errorf("not a complete Go file (make it one, or mark the block ```text): %v", err)
	}
	if src, err := format.Source([]byte(b.code)); err == nil && string(src) != b.code {
		return "", nil, fmt.Errorf("not gofmt-formatted; gofmt would write:\n%s", src)
	}
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		imports = append(imports, p)
	}
	return f.Name.Name, imports, nil
}

// goBlocks returns the ```go blocks of a Markdown file.
func goBlocks(readme string, data []byte) []block {
	var blocks []block
	var cur *block
	for i, line := range strings.Split(string(data), "\n") {
		fence := strings.HasPrefix(strings.TrimSpace(line), "```")
		switch {
		case cur == nil && fence && strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "```")) == "go":
			cur = &block{readme: readme, line: i + 1}
		case cur != nil && fence:
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
	}
	return blocks
}

// readmeBlocks returns the ```go blocks of every README.md of the repository.
func readmeBlocks(ws *workspace) ([]block, error) {
	var blocks []block
	err := filepath.WalkDir(ws.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ws.Root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "README.md" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(ws.Root, path)
		blocks = append(blocks, goBlocks(filepath.ToSlash(rel), data)...)
		return err
	})
	return blocks, err
}

// checkSnippets builds every block as a package of its own in one module outside the
// repository: programs as main.go, other complete files (an external test package with
// a conformance test, say) as snippet_test.go, which go vet type-checks.
func checkSnippets(ws *workspace, env []string, dir string, blocks []block) []string {
	var problems, get []string
	files := map[string]string{}
	for _, b := range blocks {
		pkg, imports, err := b.parse()
		if err != nil {
			problems = append(problems, b.pos()+": "+err.Error())
			continue
		}
		args, _, p := gets(ws, b, imports)
		problems = append(problems, p...)
		for _, a := range args {
			if !slices.Contains(get, a) {
				get = append(get, a)
			}
		}
		sub := strings.ReplaceAll(strings.TrimSuffix(b.readme, ".md"), "/", "-") + "-L" + strconv.Itoa(b.line)
		switch {
		case pkg == "main":
			files[sub+"/main.go"] = b.code
		case strings.HasSuffix(pkg, "_test"):
			files[sub+"/snippet_test.go"] = b.code
			files[sub+"/doc.go"] = "package " + strings.TrimSuffix(pkg, "_test") + "\n"
		default:
			files[sub+"/snippet.go"] = b.code
		}
	}
	if len(problems) > 0 {
		return problems
	}
	if len(files) == 0 {
		return nil
	}
	if err := newApp(dir, env, files, get); err != nil {
		return []string{"README Go blocks: " + err.Error()}
	}
	if err := buildAndVet(dir, env); err != nil {
		return []string{"README Go blocks (each folder is README path + -L + line of the block): " + err.Error()}
	}
	return nil
}
