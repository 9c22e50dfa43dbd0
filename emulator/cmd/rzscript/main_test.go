package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The built binary: exit codes, stdout/stderr split.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rzscript")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	ok := write("ok.star", "def main(**kw):\n    print('hello', kw['access_key'] == 'k')\n    return []\n")
	bad := write("bad.star", "def main(**kw):\n    print('before')\n    fail('broken: ' + kw['access_key'])\n")
	for _, c := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"--filename", ok, "--kwargs", "access_key=k"}, 0, "hello True\n", ""},
		{[]string{"--filename", bad, "--kwargs", "access_key=k"}, 1, "before\n", "fail: broken: k"},
		{[]string{"--kwargs", "access_key=k"}, 2, "", "--filename is required"},
	} {
		cmd := exec.Command(bin, c.args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || so.String() != c.stdout || !strings.Contains(se.String(), c.stderr) {
			t.Errorf("%q: exit %d stdout %q stderr %q; want exit %d stdout %q stderr containing %q",
				c.args, code, so.String(), se.String(), c.code, c.stdout, c.stderr)
		}
	}
	// --help is not a usage error: exit 0, the text on stdout (rz checks the text).
	if out, err := exec.Command(bin, "--help").Output(); err != nil || !strings.Contains(string(out), "--filename FILE") {
		t.Errorf("--help: %v; stdout begins %.60q", err, out)
	}
}
