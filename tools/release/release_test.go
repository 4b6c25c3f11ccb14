package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The zip leaves out a nested module's folder, and the go command downloads the
// module from the proxy as laid out.
func TestPublish(t *testing.T) {
	root := t.TempDir()
	gomod := "module example.com/m\n\ngo 1.22\n"
	writeFiles(t, root, map[string]string{
		"m/go.mod":       gomod,
		"m/a.go":         "package m\n",
		"m/inner/b.go":   "package inner\n",
		"m/sub/go.mod":   "module example.com/m/sub\n\ngo 1.22\n",
		"m/sub/c.go":     "package sub\n",
		"m/sub/x/d.go":   "package x\n",
		"m/.git/HEAD":    "ref: refs/heads/main\n",
		"m/inner/README": "text\n",
	})
	ws := &workspace{Root: root, Modules: []member{{Dir: "m", Path: "example.com/m"}}}
	proxy := filepath.Join(root, "proxy")
	if err := publish(ws, proxy, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(proxy, "example.com/m/@v/v1.2.3.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	want := []string{"example.com/m@v1.2.3/a.go", "example.com/m@v1.2.3/go.mod", "example.com/m@v1.2.3/inner/README", "example.com/m@v1.2.3/inner/b.go"}
	if !slices.Equal(names, want) {
		t.Errorf("zip holds %q, want %q", names, want)
	}
	if mod, _ := os.ReadFile(filepath.Join(proxy, "example.com/m/@v/v1.2.3.mod")); string(mod) != gomod {
		t.Errorf(".mod = %q, want the go.mod as is", mod)
	}

	env := []string{"GOPROXY=" + fileURL(proxy), "GONOSUMDB=example.com", "GOFLAGS=-modcacherw",
		"GOMODCACHE=" + t.TempDir(), "GOWORK=off", "GOTOOLCHAIN=local"}
	out, err := run(root, env, "go", "mod", "download", "-json", "example.com/m@v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"Version": "v1.2.3"`) {
		t.Errorf("go mod download: %s", out)
	}
}

func TestViolations(t *testing.T) {
	gin := apps[0]
	core, ginauth, bolt := repoPath+"/core", repoPath+"/adapters/ginauth", repoPath+"/storage/boltstore"
	uses := []string{core, ginauth, bolt}
	clean := map[string]string{core: "v0.1.0", ginauth: "v0.1.0", bolt: "v0.1.0",
		"github.com/gin-gonic/gin": "v1.12.0", "github.com/stretchr/testify": "v1.11.1"}
	bare := map[string]string{"github.com/gin-gonic/gin": "v1.12.0", "github.com/stretchr/testify": "v1.11.1"}
	with := func(path, v string) map[string]string {
		g := map[string]string{path: v}
		for p, v := range clean {
			if _, ok := g[p]; !ok {
				g[p] = v
			}
		}
		return g
	}
	by := map[string][]string{"github.com/oauth2-proxy/mockoidc": {core + "@v0.1.0"}}
	for _, tc := range []struct {
		name  string
		graph map[string]string
		want  string // in the one violation; empty: none
	}{
		{"clean, testify from gin itself", clean, ""},
		{"mock provider", with("github.com/oauth2-proxy/mockoidc", "v0.0.0-2026"), "github.com/oauth2-proxy/mockoidc v0.0.0-2026, not in a bare gin app's graph; required by " + core + "@v0.1.0"},
		{"test suite module", with(repoPath+"/core/authtest", "v0.1.0"), "core/authtest v0.1.0, a gatehouse module the app does not import"},
		{"store not used", with(repoPath+"/storage/redisstore", "v0.1.0"), "storage/redisstore v0.1.0, a gatehouse module"},
		{"placeholder version", with(core, "v0.0.0"), core + " v0.0.0, not at v0.1.0"},
		{"other framework", with("github.com/gofiber/fiber/v2", "v2.52.15"), "github.com/gofiber/fiber/v2"},
		{"other store's driver", with("github.com/redis/go-redis/v9", "v9.23.0"), "github.com/redis/go-redis/v9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(gin, "v0.1.0", uses, tc.graph, bare, by, func(string) string { return "" })
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("violations = %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("violations = %q, want one with %q", got, tc.want)
			}
		})
	}
}

// prep rewrites the sibling requires only, keeps comments and replace lines, and is
// idempotent; check names a require that is not at VERSION.
func TestSetRequires(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"core/go.mod": "module " + repoPath + "/core\n\ngo 1.26.0\n",
		"storage/boltstore/go.mod": `module github.com/gatehouse-auth/gatehouse/storage/boltstore

go 1.26.0

require (
	github.com/gatehouse-auth/gatehouse/core v0.0.0 // the engine
	go.etcd.io/bbolt v1.5.0
)

// for development
replace github.com/gatehouse-auth/gatehouse/core => ../../core
`})
	ws := &workspace{Root: root, Version: "v0.1.0", Modules: []member{
		{"core", repoPath + "/core"}, {"storage/boltstore", repoPath + "/storage/boltstore"}}}
	problems := requireProblems(ws)
	if len(problems) != 1 || !strings.Contains(problems[0], "storage/boltstore/go.mod: requires github.com/gatehouse-auth/gatehouse/core v0.0.0, not VERSION's v0.1.0") {
		t.Errorf("problems = %q", problems)
	}

	path := ws.file("storage/boltstore/go.mod")
	edit := func() bool {
		changed, err := editGoMod(path, func(f *modfile.File) error { return setRequires(f, ws, "v0.2.0") })
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}
	if !edit() {
		t.Fatal("first prep changed nothing")
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{
		"github.com/gatehouse-auth/gatehouse/core v0.2.0 // the engine\n",
		"go.etcd.io/bbolt v1.5.0\n",
		"// for development\nreplace github.com/gatehouse-auth/gatehouse/core => ../../core\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, got)
		}
	}
	if edit() {
		t.Error("second prep changed go.mod again")
	}
	ws.Version = "v0.2.0"
	if problems := requireProblems(ws); len(problems) != 0 {
		t.Errorf("problems after prep: %q", problems)
	}
}

func TestGoBlocks(t *testing.T) {
	md := "# x\n\n```go\npackage main\n\nfunc main() {}\n```\n\n```sh\ngo run .\n```\n\n```\nplain\n```\n\n```go\nx := 1\n```\n"
	blocks := goBlocks("a/README.md", []byte(md))
	if len(blocks) != 2 || blocks[0].line != 3 || blocks[1].line != 17 || blocks[0].code != "package main\n\nfunc main() {}\n" {
		t.Fatalf("blocks = %+v", blocks)
	}
	if pkg, _, err := blocks[0].parse(); pkg != "main" || err != nil {
		t.Errorf("parse = %q, %v", pkg, err)
	}
	if _, _, err := blocks[1].parse(); err == nil || !strings.Contains(err.Error(), "not a complete Go file") {
		t.Errorf("a fragment parses: %v", err)
	}
}

func TestGoLines(t *testing.T) {
	if got := maxGo("1.22.0", "1.26.0", "1.25", "1.9"); got != "1.26.0" {
		t.Errorf("maxGo = %q", got)
	}
	if got := readmeGoLine("1.26.0"); got != "requires Go 1.26 or newer" {
		t.Errorf("readmeGoLine = %q", got)
	}
}

// A second tree published at the same version is the one built, new files included,
// although the module cache directory is the same (see outsideEnv).
func TestRepublishSameVersion(t *testing.T) {
	root := t.TempDir()
	mod, cache, proxy, app := repoPath+"/x", filepath.Join(root, "modcache"), filepath.Join(root, "proxy"), filepath.Join(root, "app")
	t.Cleanup(func() { purge(cache) })
	ws := &workspace{Root: root, Modules: []member{{"x", mod}}}
	env := append(outsideEnv(proxy), "GOMODCACHE="+cache)
	build := func(files map[string]string) error {
		writeFiles(t, root, files)
		os.Remove(filepath.Join(app, "go.sum")) // a new app each time, as in check
		if err := purge(cache); err != nil {
			t.Fatal(err)
		}
		if err := publish(ws, proxy, "v0.1.0"); err != nil {
			t.Fatal(err)
		}
		_, err := run(app, env, "go", "build", "./...")
		return err
	}
	if err := build(map[string]string{
		"x/go.mod":    "module " + mod + "\n\ngo 1.22\n",
		"x/a.go":      "package x\n\nfunc A() {}\n",
		"app/go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire " + mod + " v0.1.0\n",
		"app/main.go": "package main\n\nimport \"" + mod + "\"\n\nfunc main() { x.A() }\n",
	}); err != nil {
		t.Fatal(err)
	}
	if err := build(map[string]string{
		"x/b.go":      "package x\n\nfunc B() {}\n",
		"app/main.go": "package main\n\nimport \"" + mod + "\"\n\nfunc main() { x.A(); x.B() }\n",
	}); err != nil {
		t.Fatalf("the second tree is not the one built: %v", err)
	}
}
