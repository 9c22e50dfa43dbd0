package rz

// Conformance probes: every emulator/probes/*.star file is run through Main
// (in process, in parallel) against local httptest servers, and checked
// against the expectations written in its header comments. See README.md,
// "Probes", for the header syntax.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeServer answers the requests probes make:
//
//	/status/NNN      status NNN, body "status NNN", header X-Probe: a, b
//	/slow?ms=N       waits N ms, then 200 "slow"
//	/binary          the 256 byte values 0..255
//	/drop            closes the connection without answering
//	/setcookie       sets cookie sid=abc123
//	/redirect?to=P   302 to path P
//	anything else    200 JSON echo: method, path, rawquery, query, headers, cookies, body, host
func probeServer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header().Add("X-Probe", "a")
		w.Header().Add("X-Probe", "b")
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "slow")
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("/drop", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/setcookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abc123", Path: "/"})
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cookies := map[string]string{}
		for _, c := range r.Cookies() {
			cookies[c.Name] = c.Value
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "rawquery": r.URL.RawQuery,
			"query": r.URL.Query(), "headers": r.Header, "cookies": cookies,
			"body": string(body), "host": r.Host,
		})
	})
	return mux
}

type probe struct {
	name   string
	expect map[string][]string // header key -> values, in order
}

func parseProbe(path string) (*probe, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := &probe{name: filepath.Base(path), expect: map[string][]string{}}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok || strings.ContainsAny(k, " \t") {
			continue // prose
		}
		p.expect[k] = append(p.expect[k], strings.TrimSpace(v))
	}
	if len(p.expect["expect"]) != 1 {
		return nil, fmt.Errorf("%s: needs exactly one '# expect: exit N|nonzero' line", p.name)
	}
	return p, nil
}

// splitFlags splits like a shell: whitespace separates, '...' and "..." quote.
func splitFlags(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// jsonSubset reports whether every key of want is in got with a matching
// value (objects compared recursively as subsets, everything else equal).
func jsonSubset(want, got any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		if !ok || !jsonSubset(wv, gv) {
			return false
		}
	}
	return true
}

func TestProbes(t *testing.T) {
	files, err := filepath.Glob("../probes/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no probes found: %v", err)
	}
	servers := startProbeServers(t)
	for _, file := range files {
		p, err := parseProbe(file)
		if err != nil {
			t.Error(err)
			continue
		}
		t.Run(strings.TrimSuffix(p.name, ".star"), func(t *testing.T) {
			t.Parallel()
			pr := runProbe(t, p, file, servers)
			pr.checkExit()
			pr.checkStdout()
			pr.checkStderr()
			pr.checkOutput()
			pr.checkResult()
			pr.checkStats()
		})
	}
}

// probeServers are the addresses a probe's {{...}} placeholders stand for.
type probeServers struct {
	plain, other, tls, dead string
}

func startProbeServers(t *testing.T) probeServers {
	srv := httptest.NewServer(probeServer())
	t.Cleanup(srv.Close)
	other := httptest.NewServer(probeServer()) // a second host, for redirects between hosts
	t.Cleanup(other.Close)
	tlsSrv := httptest.NewUnstartedServer(probeServer())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	return probeServers{plain: srv.URL, other: other.URL, tls: tlsSrv.URL, dead: dead}
}

// probeRun is one finished run of a probe, with what the checks compare.
type probeRun struct {
	t            *testing.T
	p            *probe
	subst        *strings.Replacer
	args         []string
	files        map[string]string // --output, --result, --stats -> path
	code         int
	stdout, errs string
}

// runProbe runs the probe through Main with its flags, adding --output,
// --result and --stats when an expectation reads them.
func runProbe(t *testing.T, p *probe, file string, s probeServers) *probeRun {
	dir := t.TempDir()
	pr := &probeRun{t: t, p: p, files: map[string]string{},
		subst: strings.NewReplacer("{{SERVER}}", s.plain, "{{SERVER2}}", s.other, "{{TLS}}", s.tls, "{{DEAD}}", s.dead, "{{DIR}}", dir)}
	pr.args = []string{"--filename", file}
	for _, f := range p.expect["flags"] {
		pr.args = append(pr.args, splitFlags(pr.subst.Replace(f))...)
	}
	for flagName, keys := range map[string][]string{
		"--output": {"expect-output-count", "expect-output-line"},
		"--result": {"expect-result"},
		"--stats":  {"expect-stats", "expect-stats-keys"},
	} {
		for _, k := range keys {
			if len(p.expect[k]) > 0 && pr.files[flagName] == "" {
				pr.files[flagName] = filepath.Join(dir, strings.TrimPrefix(flagName, "--"))
				pr.args = append(pr.args, flagName, pr.files[flagName])
			}
		}
	}
	var stdout, stderr bytes.Buffer
	pr.code = Main(pr.args, &stdout, &stderr)
	pr.stdout, pr.errs = stdout.String(), stderr.String()
	return pr
}

// report fails the probe with everything needed to see why.
func (pr *probeRun) report(format string, a ...any) {
	pr.t.Helper()
	pr.t.Errorf("%s: %s\n--- args: %q\n--- exit %d\n--- stdout:\n%s--- stderr:\n%s",
		pr.p.name, fmt.Sprintf(format, a...), pr.args, pr.code, pr.stdout, pr.errs)
}

func (pr *probeRun) checkExit() {
	switch want := pr.p.expect["expect"][0]; want {
	case "exit nonzero":
		if pr.code == 0 {
			pr.report("want a non-zero exit")
		}
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(want, "exit "))
		if err != nil {
			pr.t.Fatalf("bad expect line %q", want)
		}
		if pr.code != n {
			pr.report("want exit %d", n)
		}
	}
}

func (pr *probeRun) checkStdout() {
	lines := strings.Split(strings.TrimSuffix(pr.stdout, "\n"), "\n")
	for _, w := range pr.p.expect["expect-stdout"] {
		if w = pr.subst.Replace(w); !slices.Contains(lines, w) {
			pr.report("no stdout line equals %q", w)
		}
	}
	pr.checkText("stdout", pr.stdout, "expect-stdout-contains", "expect-not-stdout")
}

func (pr *probeRun) checkStderr() {
	pr.checkText("stderr", pr.errs, "expect-error", "expect-not-stderr")
	if w := pr.p.expect["expect-stderr-empty"]; len(w) > 0 && pr.errs != "" {
		pr.report("stderr is not empty")
	}
}

// checkText checks one stream against the texts it must contain (after
// placeholder substitution) and those it must not.
func (pr *probeRun) checkText(stream, text, hasKey, lacksKey string) {
	for _, w := range pr.p.expect[hasKey] {
		if !strings.Contains(text, pr.subst.Replace(w)) {
			pr.report("%s does not contain %q", stream, w)
		}
	}
	for _, w := range pr.p.expect[lacksKey] {
		if strings.Contains(text, w) {
			pr.report("%s contains %q", stream, w)
		}
	}
}

// written is what the run wrote to the file of an output flag; false when
// no expectation asked for that file.
func (pr *probeRun) written(flag string) ([]byte, bool) {
	path := pr.files[flag]
	if path == "" {
		return nil, false
	}
	data, _ := os.ReadFile(path)
	return data, true
}

func (pr *probeRun) checkOutput() {
	data, ok := pr.written("--output")
	if !ok {
		return
	}
	var recs []any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			pr.report("--output line is not JSON: %q", l)
		}
		recs = append(recs, v)
	}
	for _, w := range pr.p.expect["expect-output-count"] {
		if n, _ := strconv.Atoi(w); n != len(recs) {
			pr.report("--output has %d records, want %s:\n%s", len(recs), w, data)
		}
	}
	for _, w := range pr.p.expect["expect-output-line"] {
		var want any
		if err := json.Unmarshal([]byte(w), &want); err != nil {
			pr.t.Fatalf("bad expect-output-line %q: %v", w, err)
		}
		if !slices.ContainsFunc(recs, func(r any) bool { return reflect.DeepEqual(r, want) }) {
			pr.report("no --output record equals %s; got:\n%s", w, data)
		}
	}
}

func (pr *probeRun) checkResult() {
	data, ok := pr.written("--result")
	if !ok {
		return
	}
	var got, want any
	if err := json.Unmarshal(data, &got); err != nil {
		pr.report("--result is not JSON: %q", data)
	}
	if err := json.Unmarshal([]byte(pr.p.expect["expect-result"][0]), &want); err != nil {
		pr.t.Fatalf("bad expect-result: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		pr.report("--result is %s, want %s", bytes.TrimSpace(data), pr.p.expect["expect-result"][0])
	}
}

func (pr *probeRun) checkStats() {
	data, ok := pr.written("--stats")
	if !ok {
		return
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		pr.report("--stats is not JSON: %q", data)
	}
	for _, w := range pr.p.expect["expect-stats"] {
		var want any
		if err := json.Unmarshal([]byte(w), &want); err != nil {
			pr.t.Fatalf("bad expect-stats %q: %v", w, err)
		}
		if !jsonSubset(want, any(got)) {
			pr.report("--stats %s does not include %s", bytes.TrimSpace(data), w)
		}
	}
	for _, w := range pr.p.expect["expect-stats-keys"] {
		for _, k := range strings.Fields(w) {
			if _, ok := got[k]; !ok {
				pr.report("--stats has no key %q", k)
			}
		}
	}
}

// TestProbeHeaders checks that every probe states its outcome and that the
// probe set covers each checklist area (a probe whose name starts with the
// area's prefix).
func TestProbeHeaders(t *testing.T) {
	files, _ := filepath.Glob("../probes/*.star")
	names := map[string]bool{}
	for _, f := range files {
		if _, err := parseProbe(f); err != nil {
			t.Error(err)
		}
		names[filepath.Base(f)] = true
	}
	var areas = []string{"dialect_", "entry_", "return_", "load_", "http_", "requests_", "json_",
		"time_", "net_", "types_", "strict_", "stats_", "kwargs_", "base64", "uuid", "crypto", "gzip", "flatten"}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, a := range areas {
		found := false
		for _, n := range sorted {
			if strings.HasPrefix(n, a) {
				found = true
			}
		}
		if !found {
			t.Errorf("no probe for area %q", a)
		}
	}
}
