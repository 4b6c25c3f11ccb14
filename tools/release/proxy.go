package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// publish lays out every module of the workspace, as its working tree holds it, at
// version v in dir, as GOPROXY=file://dir expects: <module>/@v/list, v.info, v.mod
// (the go.mod as is; Go ignores its replace lines in a dependency) and v.zip, which
// zip.CreateFromDir makes without the folders of nested modules.
func publish(ws *workspace, dir, v string) error {
	info, err := json.Marshal(map[string]string{"Version": v, "Time": time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	for _, m := range ws.Modules {
		if err := publishModule(dir, ws.file(m.Dir), module.Version{Path: m.Path, Version: v}, info); err != nil {
			return fmt.Errorf("publishing %s: %w", m.Dir, err)
		}
	}
	return nil
}

func publishModule(proxy, src string, mv module.Version, info []byte) error {
	escPath, err := module.EscapePath(mv.Path)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"list": []byte(mv.Version + "\n"), escVersion + ".info": info, escVersion + ".mod": gomod} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, escVersion+".zip"))
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(f, mv, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}
