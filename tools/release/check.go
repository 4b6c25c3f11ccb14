package main

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// repoPath is the prefix of every gatehouse module path.
const repoPath = "github.com/gatehouse-auth/gatehouse"

// An app is a user's program built outside the repository from the first Go block of an
// adapter's README.
type app struct {
	name   string
	readme string
	uses   []string // the gatehouse modules (folders) the program must import
	bare   []string // what a bare twin of the app imports: the framework and bbolt, without gatehouse
	forbid []string // modules (or their /… children) that must not be in its graph
}

var apps = []app{
	{"gin", "adapters/ginauth/README.md", []string{"core", "adapters/ginauth", "storage/boltstore"},
		[]string{"github.com/gin-gonic/gin", "go.etcd.io/bbolt"},
		[]string{"github.com/gofiber/fiber", "github.com/valyala/fasthttp"}},
	{"fiber", "adapters/fiberauth/README.md", []string{"core", "adapters/fiberauth", "storage/boltstore"},
		[]string{"github.com/gofiber/fiber/v2", "go.etcd.io/bbolt"},
		[]string{"github.com/gin-gonic/gin"}},
	{"net/http", "adapters/httpauth/README.md", []string{"core", "adapters/httpauth", "storage/boltstore"},
		[]string{"go.etcd.io/bbolt"},
		[]string{"github.com/gin-gonic/gin", "github.com/gofiber/fiber", "github.com/valyala/fasthttp"}},
}

// forbidEverywhere are what test suites, mock providers and other stores bring: no
// app that imports core, an adapter and boltstore may get them from gatehouse.
var forbidEverywhere = []string{
	"github.com/oauth2-proxy/mockoidc", "github.com/stretchr/testify",
	"github.com/redis/go-redis", "github.com/jackc/pgx", "github.com/lib/pq", "go.opentelemetry.io",
}

// check publishes the working tree into a file module proxy at VERSION and, outside
// the repository, builds with plain go get what a user would build: the adapters'
// README programs (asserting on their module graphs) and every other README Go block.
func check(ws *workspace) error {
	start := time.Now()
	v := ws.Version
	if !semver.IsValid(v) {
		return fmt.Errorf("VERSION holds %q, not a version: make release-prep VERSION=v0.1.0", v)
	}
	problems := requireProblems(ws)
	if p := readmeGoProblem(ws); p != "" {
		problems = append(problems, p)
	}
	tmp, err := os.MkdirTemp("", "gatehouse-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	done, err := useModuleCache(tmp)
	if err != nil {
		return err
	}
	defer done()
	proxy := filepath.Join(tmp, "proxy")
	if err := publish(ws, proxy, v); err != nil {
		return err
	}
	fmt.Printf("published %d modules at %s into %s\n", len(ws.Modules), v, proxy)
	env := outsideEnv(proxy)
	blocks, err := readmeBlocks(ws)
	if err != nil {
		return err
	}
	type job struct {
		name string
		do   func() (notes, problems []string)
	}
	var jobs []job
	for _, a := range apps {
		i := slices.IndexFunc(blocks, func(b block) bool { return b.readme == a.readme })
		if i < 0 {
			problems = append(problems, a.readme+": no ```go block: it should hold the "+a.name+" app")
			continue
		}
		b, dir := blocks[i], filepath.Join(tmp, "app-"+strings.ReplaceAll(a.name, "/", ""))
		blocks = slices.Delete(blocks, i, i+1)
		jobs = append(jobs, job{a.name + " app", func() ([]string, []string) {
			notes, p, err := checkApp(ws, env, dir, a, b)
			if err != nil {
				p = append(p, fmt.Sprintf("%s app (%s): %v", a.name, b.pos(), err))
			}
			return notes, p
		}})
	}
	// The README blocks first: theirs is the longest job.
	jobs = slices.Insert(jobs, 0, job{fmt.Sprintf("%d other README Go blocks", len(blocks)), func() ([]string, []string) {
		return nil, checkSnippets(ws, env, filepath.Join(tmp, "snippets"), blocks)
	}})
	// Two at a time: one job's downloads and links overlap another's compiles.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t := time.Now()
			notes, p := j.do()
			mu.Lock()
			defer mu.Unlock()
			for _, n := range notes {
				fmt.Println(n)
			}
			result := "ok"
			if len(p) > 0 {
				result = "FAILED"
			}
			fmt.Printf("%s: %s (%.0fs)\n", j.name, result, time.Since(t).Seconds())
			problems = append(problems, p...)
		})
	}
	wg.Wait()
	fmt.Printf("release check took %.0fs\n", time.Since(start).Seconds())
	return report(problems)
}

// readmeGoProblem checks that the top README states the Go version the go lines require.
func readmeGoProblem(ws *workspace) string {
	var lines []string
	for _, m := range ws.Modules {
		data, err := os.ReadFile(ws.file(m.Dir + "/go.mod"))
		if err != nil {
			return err.Error()
		}
		if f, err := modfile.ParseLax(m.Dir+"/go.mod", data, nil); err == nil && f.Go != nil {
			lines = append(lines, f.Go.Version)
		}
	}
	readme, err := os.ReadFile(ws.file("README.md"))
	if err != nil {
		return err.Error()
	}
	if want := readmeGoLine(maxGo(lines...)); !strings.Contains(string(readme), want) {
		return fmt.Sprintf("README.md: does not say %q, as the modules' go lines do (make release-prep)", want)
	}
	return ""
}

func report(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "FAIL", p)
	}
	return fmt.Errorf("release check: %d problem(s)", len(problems))
}

// requireProblems lists requires of gatehouse modules that a published release could
// not satisfy: another version than VERSION, or a module go.work does not have.
func requireProblems(ws *workspace) []string {
	var problems []string
	for _, m := range ws.Modules {
		data, err := os.ReadFile(ws.file(m.Dir + "/go.mod"))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		f, err := modfile.Parse(m.Dir+"/go.mod", data, nil)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, r := range f.Require {
			_, ours := ws.byPath(r.Mod.Path)
			switch {
			case ours && r.Mod.Version != ws.Version:
				problems = append(problems, fmt.Sprintf("%s/go.mod: requires %s %s, not VERSION's %s (make release-prep VERSION=%s)",
					m.Dir, r.Mod.Path, r.Mod.Version, ws.Version, ws.Version))
			case !ours && strings.HasPrefix(r.Mod.Path, repoPath+"/"):
				problems = append(problems, fmt.Sprintf("%s/go.mod: requires %s, which is not a module of go.work", m.Dir, r.Mod.Path))
			}
		}
	}
	return problems
}

// outsideEnv is the environment of a user outside the repository whose module proxy
// also serves the published modules.
func outsideEnv(proxy string) []string {
	// The go command indexes each module cache directory once (in GOCACHE) and trusts
	// that index for good, keyed by the directory alone: cached versions are immutable
	// (cmd/go/internal/modindex). Ours are not, from one check to the next, and with a
	// stale index a new file of the tree goes unseen. goindex=0 reads directories as
	// they are.
	godebug := strings.TrimPrefix(os.Getenv("GODEBUG")+",goindex=0", ",")
	return []string{
		"GODEBUG=" + godebug,
		"GOWORK=off",
		"GOFLAGS=-mod=mod -buildvcs=false",
		"GOPROXY=" + fileURL(proxy) + ",https://proxy.golang.org",
		// Our modules are in no checksum database; GOPRIVATE would skip the proxy too.
		"GONOSUMDB=" + repoPath,
		"GONOPROXY=", "GOPRIVATE=",
		"GOTOOLCHAIN=local",
	}
}

// useModuleCache prepares the machine's module cache for a check. Using it rather
// than a private one keeps third-party packages in the same directories as in the
// repository's own builds, so the build cache serves them (a private cache would
// compile the standard library and every dependency again: 7 CPU-minutes). Our
// modules must come from the file proxy, so every cached github.com/gatehouse-auth
// version, which may hold an older tree at the same version, is deleted before the
// check, and again after it so that no other build on the machine picks up a
// working tree. A lock keeps concurrent checks apart.
func useModuleCache(tmp string) (done func(), err error) {
	cache, err := run(tmp, []string{"GOWORK=off"}, "go", "env", "GOMODCACHE")
	if err != nil {
		return nil, err
	}
	cache = strings.TrimSpace(cache)
	if err := os.MkdirAll(filepath.Join(cache, "cache"), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(filepath.Join(cache, "cache", "gatehouse-release.lock"))
	if err != nil {
		return nil, err
	}
	if err := purge(cache); err != nil {
		unlock()
		return nil, err
	}
	return func() {
		if err := purge(cache); err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
		}
		unlock()
	}, nil
}

// purge deletes every version of our modules from a module cache.
func purge(cache string) error {
	owner := filepath.FromSlash(strings.TrimSuffix(repoPath, "/gatehouse"))
	for _, dir := range []string{filepath.Join(cache, "cache", "download", owner), filepath.Join(cache, owner)} {
		// The go command makes extracted modules read-only.
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(path, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// newApp makes a module example.com/app in dir holding files, gets the gatehouse
// modules at v and tidies it.
func newApp(dir string, env []string, files map[string]string, get []string) error {
	for name, code := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(code), 0o644); err != nil {
			return err
		}
	}
	if _, err := run(dir, env, "go", "mod", "init", "example.com/app"); err != nil {
		return err
	}
	if len(get) > 0 {
		if _, err := run(dir, env, "go", append([]string{"get"}, get...)...); err != nil {
			return err
		}
	}
	_, err := run(dir, env, "go", "mod", "tidy")
	return err
}

func buildAndVet(dir string, env []string) error {
	if _, err := run(dir, env, "go", "build", "./..."); err != nil {
		return err
	}
	_, err := run(dir, env, "go", "vet", "./...")
	return err
}

// gets returns the go get arguments for the gatehouse modules of imports, and a
// problem for each gatehouse import no module of go.work provides.
func gets(ws *workspace, b block, imports []string) (args []string, mods []member, problems []string) {
	for _, imp := range imports {
		m, ok := ws.moduleOf(imp)
		switch {
		case ok && !slices.Contains(mods, m):
			mods = append(mods, m)
			args = append(args, m.Path+"@"+ws.Version)
		case !ok && strings.HasPrefix(imp, repoPath+"/"):
			problems = append(problems, fmt.Sprintf("%s: imports %s, which no module of go.work provides", b.pos(), imp))
		}
	}
	return args, mods, problems
}

func checkApp(ws *workspace, env []string, dir string, a app, b block) (notes, problems []string, err error) {
	pkg, imports, err := b.parse()
	if err != nil {
		return nil, nil, err
	}
	if pkg != "main" {
		return nil, nil, fmt.Errorf("package %s: the block must be a complete program, package main", pkg)
	}
	get, used, problems := gets(ws, b, imports)
	var uses []string
	for _, m := range used {
		uses = append(uses, m.Path)
	}
	for _, u := range a.uses {
		if !slices.ContainsFunc(used, func(m member) bool { return m.Dir == u }) {
			problems = append(problems, fmt.Sprintf("%s app (%s): does not import %s", a.name, b.pos(), u))
		}
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	if err := newApp(dir, env, map[string]string{"main.go": b.code}, get); err != nil {
		return nil, nil, err
	}
	if err := buildAndVet(dir, env); err != nil {
		return nil, nil, err
	}
	graph, err := moduleGraph(dir, env)
	if err != nil {
		return nil, nil, err
	}
	edges, err := run(dir, env, "go", "mod", "graph")
	if err != nil {
		return nil, nil, err
	}
	// The bare twin: the framework and bbolt at the versions the app has, no gatehouse.
	twin, get := "package main\n\nimport (\n\t_ \"net/http\"\n", nil
	for _, m := range a.bare {
		twin += fmt.Sprintf("\t_ %q\n", m)
		get = append(get, m+"@"+graph[m])
	}
	twin += ")\n\nfunc main() {}\n"
	if err := newApp(dir+"-bare", env, map[string]string{"main.go": twin}, get); err != nil {
		return nil, nil, err
	}
	bare, err := moduleGraph(dir+"-bare", env)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, fmt.Sprintf("%s app: builds and vets; go list -m all: %d modules; a bare app of %s: %d",
		a.name, len(graph), strings.Join(append([]string{"net/http"}, a.bare...), " + "), len(bare)))
	by := requirers(edges)
	for _, p := range slices.Sorted(maps.Keys(bare)) {
		if _, ok := graph[p]; ok && (matches(p, forbidEverywhere) || matches(p, a.forbid)) {
			notes = append(notes, fmt.Sprintf("%s app: %s is in its graph, but in the bare app's too (required by %s)",
				a.name, p, listSome(by[p])))
		}
	}
	why := func(path string) string { // the import chain that needs path, when one does
		out, err := run(dir, env, "go", "mod", "why", "-m", path)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); err == nil && len(lines) > 2 {
			return "; imports: " + strings.Join(lines[1:], " -> ")
		}
		return ""
	}
	return notes, violations(a, ws.Version, uses, graph, bare, by, why), nil
}

// moduleGraph returns go list -m all of the module in dir: path -> version.
func moduleGraph(dir string, env []string) (map[string]string, error) {
	out, err := run(dir, env, "go", "list", "-m", "all")
	if err != nil {
		return nil, err
	}
	graph := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) >= 2 {
			graph[f[0]] = f[1]
		}
	}
	return graph, nil
}

// requirers maps a module path to the modules whose go.mod requires it, from go mod graph.
func requirers(graph string) map[string][]string {
	by := map[string][]string{}
	for _, line := range strings.Split(graph, "\n") {
		if from, to, ok := strings.Cut(line, " "); ok {
			path, _, _ := strings.Cut(to, "@")
			by[path] = append(by[path], from)
		}
	}
	return by
}

// violations lists what an app's module graph holds that gatehouse should not have
// brought: a forbidden module absent from the bare framework's graph, a gatehouse
// module the app does not import, or one at another version than v.
func violations(a app, v string, uses []string, graph, bare map[string]string, by map[string][]string, why func(string) string) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(graph)) {
		var reason string
		switch {
		case strings.HasPrefix(p, repoPath+"/") && !slices.Contains(uses, p):
			reason = "a gatehouse module the app does not import"
		case strings.HasPrefix(p, repoPath+"/") && graph[p] != v:
			reason = "not at " + v
		case matches(p, forbidEverywhere) || matches(p, a.forbid):
			if _, ok := bare[p]; ok {
				continue // the framework or bbolt brings it by itself
			}
			reason = "not in a bare " + a.name + " app's graph"
		default:
			continue
		}
		out = append(out, fmt.Sprintf("%s app: go list -m all has %s %s, %s; required by %s%s",
			a.name, p, graph[p], reason, listSome(by[p]), why(p)))
	}
	return out
}

func matches(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// listSome lists the first few of a set of modules, sorted, gatehouse's first.
func listSome(mods []string) string {
	mods = slices.Clone(mods)
	slices.SortFunc(mods, func(a, b string) int {
		if ga, gb := strings.HasPrefix(a, repoPath+"/"), strings.HasPrefix(b, repoPath+"/"); ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	if len(mods) > 4 {
		return fmt.Sprintf("%s and %d more", strings.Join(mods[:4], ", "), len(mods)-4)
	}
	return strings.Join(mods, ", ")
}
