package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	if SameContent(p, []byte("a")) || Exists(p) {
		t.Fatal("missing file reported present")
	}
	if err := WriteFileAtomic(p, []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("bb"), 0o640); err != nil {
		t.Fatal(err)
	}
	if !SameContent(p, []byte("bb")) || SameContent(p, []byte("a")) {
		t.Fatal("content")
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", st.Mode())
	}
	// A failing writer leaves the old file and no temporary file.
	err := WriteAtomic(p, 0o600, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("boom")
	})
	if err == nil || !SameContent(p, []byte("bb")) {
		t.Fatalf("err %v; the old file must survive", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
