package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/version"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// prep sets the release version everywhere it is written, tidies every module on its
// own, recomputes the go lines, checks that every module builds and vets on its own,
// and prints the tags. Run twice, it changes nothing the second time.
func prep(ws *workspace, v string) error {
	if !semver.IsValid(v) || semver.Canonical(v) != v || semver.Build(v) != "" {
		return fmt.Errorf("%q is not a version like v0.2.0 or v0.2.0-rc.1", v)
	}
	if m := semver.Major(v); m != "v0" && m != "v1" {
		return fmt.Errorf("%s: a major version above v1 needs /%s module paths first", v, m)
	}
	if err := os.WriteFile(ws.file("VERSION"), []byte(v+"\n"), 0o644); err != nil {
		return err
	}
	ws.Version = v
	setAll := func() error {
		for _, m := range ws.Modules {
			if _, err := editGoMod(ws.file(m.Dir+"/go.mod"), func(f *modfile.File) error {
				return setRequires(f, ws, v)
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := setAll(); err != nil {
		return err
	}
	// What a user's go get sees, and what make test-modules builds: each module tidy
	// on its own, its siblings through its replace lines.
	for _, m := range ws.Modules {
		if _, err := run(ws.file(m.Dir), []string{"GOWORK=off"}, "go", "mod", "tidy"); err != nil {
			return err
		}
	}
	// Tidy writes a placeholder version for a sibling newly imported: set it too.
	if err := setAll(); err != nil {
		return err
	}
	if err := goDirectives(ws); err != nil {
		return err
	}
	for _, m := range ws.Modules { // tidy again: a go line can change what tidy writes
		for _, args := range [][]string{{"mod", "tidy"}, {"build", "./..."}} {
			if _, err := run(ws.file(m.Dir), []string{"GOWORK=off"}, "go", args...); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\nEvery module builds, vets and is tidy with GOWORK=off. Check the diff, run\n")
	fmt.Printf("`make release-check`, commit, then tag and push:\n\n")
	tags := []string{}
	for _, m := range ws.Modules {
		tags = append(tags, m.Dir+"/"+v)
		fmt.Printf("  git tag %s\n", m.Dir+"/"+v)
	}
	fmt.Printf("  git push origin %s\n", strings.Join(tags, " "))
	return nil
}

// setRequires makes every require of a workspace module name v. Comments, replace
// lines and everything else stay as they are.
func setRequires(f *modfile.File, ws *workspace, v string) error {
	for _, r := range f.Require {
		if _, ok := ws.byPath(r.Mod.Path); ok && r.Mod.Version != v {
			if err := f.AddRequire(r.Mod.Path, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// editGoMod applies edit to the go.mod file at path and writes it back if it changed.
func editGoMod(path string, edit func(*modfile.File) error) (changed bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return false, err
	}
	if err := edit(f); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil || bytes.Equal(out, data) {
		return false, err
	}
	return true, os.WriteFile(path, out, 0o644)
}

// minGo is the lowest go line gatehouse accepts whatever its dependencies say: below
// go 1.22 a for loop's variables are shared by all iterations, and the compiler would
// not tell.
const minGo = "1.22.0"

// goDirectives sets each module's go line to the lowest its build list allows (the
// highest go line among its dependencies), then raises it where the code needs more
// (the compiler and vet's stdversion name the version a feature or API requires),
// and go.work's to the highest of them.
func goDirectives(ws *workspace) error {
	lines := map[string]string{}  // module dir -> go line
	why := map[string]string{}    // module dir -> the dependency that sets it
	deps := map[string][]string{} // module dir -> workspace modules in its build list
	for _, m := range ws.Modules {
		out, err := run(ws.file(m.Dir), []string{"GOWORK=off"}, "go", "list", "-m", "-json", "all")
		if err != nil {
			return err
		}
		lines[m.Dir], why[m.Dir] = minGo, "gatehouse's own minimum"
		dec := json.NewDecoder(strings.NewReader(out))
		for {
			var mod struct {
				Path, Version, GoVersion string
				Main                     bool
			}
			if err := dec.Decode(&mod); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
			if sib, ok := ws.byPath(mod.Path); ok {
				if !mod.Main {
					deps[m.Dir] = append(deps[m.Dir], sib.Dir)
				}
			} else if mod.GoVersion != "" && version.Compare("go"+mod.GoVersion, "go"+lines[m.Dir]) > 0 {
				lines[m.Dir], why[m.Dir] = mod.GoVersion, mod.Path+"@"+mod.Version
			}
		}
	}
	// A module's go line is at least that of every sibling it requires.
	raise := func() {
		for changed := true; changed; {
			changed = false
			for dir, ds := range deps {
				for _, d := range ds {
					if version.Compare("go"+lines[d], "go"+lines[dir]) > 0 {
						lines[dir], why[dir], changed = lines[d], d+" (gatehouse)", true
					}
				}
			}
		}
	}
	raise()
	needs := regexp.MustCompile(`requires go(1\.\d+)`)
	for pending := true; pending; {
		pending = false
		for _, m := range ws.Modules {
			if err := setGoLine(ws.file(m.Dir+"/go.mod"), lines[m.Dir]); err != nil {
				return err
			}
		}
		for _, m := range ws.Modules {
			_, err := run(ws.file(m.Dir), []string{"GOWORK=off"}, "go", "vet", "./...")
			if err == nil {
				continue
			}
			var need string
			for _, s := range needs.FindAllStringSubmatch(err.Error(), -1) {
				if version.Compare("go"+s[1], "go"+need) > 0 {
					need = s[1]
				}
			}
			if need == "" || version.Compare("go"+need, "go"+lines[m.Dir]) <= 0 {
				if strings.Contains(err.Error(), "updates to go.mod needed") {
					return fmt.Errorf("%s is not tidy: make release-prep tidies every module, or cd %[1]s && GOWORK=off go mod tidy", m.Dir)
				}
				return err
			}
			lines[m.Dir], why[m.Dir], pending = need+".0", "its own code", true
			raise()
			break
		}
	}
	top := minGo
	for _, m := range ws.Modules {
		fmt.Printf("go %-8s %-28s set by %s\n", lines[m.Dir], m.Dir, why[m.Dir])
		if version.Compare("go"+lines[m.Dir], "go"+top) > 0 {
			top = lines[m.Dir]
		}
	}
	if err := setWorkGoLine(ws.file("go.work"), top); err != nil {
		return err
	}
	fmt.Printf("go %-8s go.work; README.md: %q\n", top, readmeGoLine(top))
	return nil
}

// readmeGoLine is the sentence of the top README that states the minimum Go version.
func readmeGoLine(goLine string) string {
	return "requires Go " + strings.TrimPrefix(version.Lang("go"+goLine), "go") + " or newer"
}

func setGoLine(path, v string) error {
	_, err := editGoMod(path, func(f *modfile.File) error { return f.AddGoStmt(v) })
	return err
}

func setWorkGoLine(path, v string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	wf, err := modfile.ParseWork(path, data, nil)
	if err != nil {
		return err
	}
	if wf.Go != nil && wf.Go.Version == v {
		return nil
	}
	if err := wf.AddGoStmt(v); err != nil {
		return err
	}
	return os.WriteFile(path, modfile.Format(wf.Syntax), 0o644)
}

// maxGo returns the highest of the go lines.
func maxGo(lines ...string) string {
	return slices.MaxFunc(lines, func(a, b string) int { return version.Compare("go"+a, "go"+b) })
}
