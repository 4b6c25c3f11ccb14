package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

// chmod is os.Chmod; tests replace it, to fail as it does on a file of another user.
var chmod = os.Chmod

// tightenStoreFile makes the file of a bolt: store private before the store opens it:
// the file holds the signing key, and whoever can read it can mint tokens for anyone
// (SECURITY.md, case 44). A file that group or others may read or write is changed to
// 0600, with a warning naming it; if that fails (the server's user does not own the
// file, say), the error names the file and the server does not start. A file that does
// not exist yet is left to the store, which creates it 0600.
func tightenStoreFile(spec string, log *slog.Logger) error {
	loc, err := storeurl.Parse(spec)
	if err != nil || loc.Kind != storeurl.Bolt {
		return nil
	}
	info, err := os.Stat(loc.Path)
	if err != nil || !info.Mode().IsRegular() {
		return nil // missing, or not a file: the store's own error says it better
	}
	mode := info.Mode().Perm()
	if mode&0o077 == 0 {
		return nil
	}
	if err := chmod(loc.Path, 0o600); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the file already
		}
		return fmt.Errorf("%s is open to group or others (mode %04o) and cannot be made 0600: %v; run chmod 600 on it, as its owner", loc.Path, mode, err)
	}
	log.Warn("store file was open to group or others: tightened to 0600", "file", loc.Path, "was", fmt.Sprintf("%04o", mode))
	return nil
}
