package demo

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTightenStoreFile: a bolt file open to group or others is made 0600 with a line
// naming it; when that fails the error names it; other files and stores are left alone.
func TestTightenStoreFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	refuse := func(string, fs.FileMode) error {
		return &fs.PathError{Op: "chmod", Path: "x", Err: syscall.EPERM}
	}
	cases := []struct {
		name     string
		spec     string
		chmod    func(string, fs.FileMode) error
		wantMode fs.FileMode // 0: not checked
		wantLog  bool
		wantErr  bool
	}{
		{"0644", "bolt:" + file("a.db", 0o644), os.Chmod, 0o600, true, false},
		{"0660", "bolt:" + file("b.db", 0o660), os.Chmod, 0o600, true, false},
		{"0602", "bolt:" + file("c.db", 0o602), os.Chmod, 0o600, true, false},
		{"0600 already", "bolt:" + file("d.db", 0o600), refuse, 0o600, false, false},
		{"0400", "bolt:" + file("e.db", 0o400), refuse, 0o400, false, false},
		{"not the owner", "bolt:" + file("f.db", 0o644), refuse, 0o644, false, true},
		{"missing: the store creates it 0600", "bolt:" + filepath.Join(dir, "new.db"), refuse, 0, false, false},
		{"a directory", "bolt:" + dir, refuse, 0, false, false},
		{"memory", "memory", refuse, 0, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			defer func(f func(string, fs.FileMode) error) { chmod = f }(chmod)
			chmod = tc.chmod
			err := tightenStoreFile(tc.spec, slog.New(slog.NewTextHandler(&logs, nil)))
			path := strings.TrimPrefix(tc.spec, "bolt:")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil && (!strings.Contains(err.Error(), path) || strings.Count(err.Error(), path) != 1 || strings.Contains(err.Error(), "\n")) {
				t.Errorf("error %q: want one line naming %s once", err, path)
			}
			if got := strings.Contains(logs.String(), "tightened to 0600") && strings.Contains(logs.String(), path); got != tc.wantLog {
				t.Errorf("log %q", logs.String())
			}
			if tc.wantMode != 0 {
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode().Perm() != tc.wantMode {
					t.Errorf("mode %04o, want %04o", info.Mode().Perm(), tc.wantMode)
				}
			}
		})
	}
}

// TestStartRefusesAnOpenStoreFile: a server whose store file cannot be made private
// does not start: ExitFailed, and the line names the file.
func TestStartRefusesAnOpenStoreFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(path, nil, 0o600)
	os.Chmod(path, 0o644)
	defer func(f func(string, fs.FileMode) error) { chmod = f }(chmod)
	chmod = func(string, fs.FileMode) error { return &fs.PathError{Op: "chmod", Path: path, Err: syscall.EPERM} }
	var logs bytes.Buffer
	_, code, err := start("Test", getenv(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "bolt:" + path}), &logs, &logs)
	if err == nil || code != ExitFailed {
		t.Fatalf("exit %d, %v", code, err)
	}
	want := "gatehouse demo: GATEHOUSE_STORE: " + path + " is open to group or others (mode 0644) and cannot be made 0600: operation not permitted; run chmod 600 on it, as its owner"
	if got := oneLine(err); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
