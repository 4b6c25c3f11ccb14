// Command release prepares and checks a release of gatehouse's modules.
//
//	go run ./tools/release prep v0.2.0   # VERSION, sibling requires, go lines; builds; prints the tags
//	go run ./tools/release godirective   # recomputes every module's go line
//	go run ./tools/release check         # installs the working tree as a user would
//
// Every command works on the modules listed in go.work, found by walking up from the
// current directory.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

const usage = `usage: release [-v] prep VERSION | godirective | check`

// verbose (-v before the subcommand) prints every command run and its duration.
var verbose bool

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "-v" {
		verbose, args = true, args[1:]
	}
	root, err := findRoot()
	if err == nil {
		err = dispatch(root, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func dispatch(root string, args []string) error {
	ws, err := loadWorkspace(root)
	if err != nil {
		return err
	}
	switch {
	case len(args) == 2 && args[0] == "prep":
		return prep(ws, args[1])
	case len(args) == 1 && args[0] == "godirective":
		return goDirectives(ws)
	case len(args) == 1 && args[0] == "check":
		return check(ws)
	}
	return errors.New(usage)
}

// A member is one module of the workspace.
type member struct {
	Dir  string // slash-separated, relative to the repository root: "adapters/ginauth"
	Path string // "github.com/gatehouse-auth/gatehouse/adapters/ginauth"
}

type workspace struct {
	Root    string
	Version string // the content of VERSION
	Modules []member
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work in this directory or above it")
		}
		dir = parent
	}
}

func loadWorkspace(root string) (*workspace, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	ws := &workspace{Root: root}
	if v, err := os.ReadFile(filepath.Join(root, "VERSION")); err == nil {
		ws.Version = strings.TrimSpace(string(v))
	}
	for _, u := range wf.Use {
		dir := filepath.ToSlash(filepath.Clean(u.Path))
		gomod, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		path := modfile.ModulePath(gomod)
		if path == "" {
			return nil, fmt.Errorf("%s/go.mod: no module line", dir)
		}
		ws.Modules = append(ws.Modules, member{Dir: dir, Path: path})
	}
	return ws, nil
}

// byPath returns the workspace module whose path is path.
func (ws *workspace) byPath(path string) (member, bool) {
	for _, m := range ws.Modules {
		if m.Path == path {
			return m, true
		}
	}
	return member{}, false
}

// moduleOf returns the workspace module providing the package importPath: the one with
// the longest path that is a prefix of it.
func (ws *workspace) moduleOf(importPath string) (member, bool) {
	var best member
	for _, m := range ws.Modules {
		if (importPath == m.Path || strings.HasPrefix(importPath, m.Path+"/")) && len(m.Path) > len(best.Path) {
			best = m
		}
	}
	return best, best.Path != ""
}

func (ws *workspace) file(rel string) string { return filepath.Join(ws.Root, filepath.FromSlash(rel)) }

// run runs a command in dir with env added to the process's environment, and returns
// its standard output. Its error holds the command and everything it printed.
func run(dir string, env []string, name string, args ...string) (string, error) {
	if verbose {
		start := time.Now()
		defer func() {
			fmt.Fprintf(os.Stderr, "  %5.1fs %s %s\n", time.Since(start).Seconds(), name, strings.Join(args, " "))
		}()
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		out := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		return "", fmt.Errorf("in %s: %s %s: %v\n%s", dir, name, strings.Join(args, " "), err, out)
	}
	return stdout.String(), nil
}
