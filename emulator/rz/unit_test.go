package rz

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
)

func TestRewrite(t *testing.T) {
	e := newEnv(Config{Routes: []Route{
		{Origin: "https://api.tailscale.com", Target: "http://127.0.0.1:9"},
		{Origin: "https://other.test/base/", Target: "http://127.0.0.1:8/x/"},
		{Origin: "https://slash.test", Target: "http://127.0.0.1:7/"},
		{Origin: "https://noslash.test/", Target: "http://127.0.0.1:6/p"},
	}})
	cases := map[string]string{
		"https://api.tailscale.com":                     "http://127.0.0.1:9",
		"https://api.tailscale.com/api/v2/x?fields=all": "http://127.0.0.1:9/api/v2/x?fields=all",
		"https://api.tailscale.com?x=1":                 "http://127.0.0.1:9?x=1",
		"https://api.tailscale.com.evil.test/api":       "https://api.tailscale.com.evil.test/api",
		"https://api.tailscale.community/":              "https://api.tailscale.community/",
		"http://api.tailscale.com/api":                  "http://api.tailscale.com/api",
		"https://other.test/base/thing?q=1":             "http://127.0.0.1:8/x/thing?q=1",
	}
	for in, want := range cases {
		if got, _ := e.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatsPath(t *testing.T) {
	cases := map[string]string{
		"/api/v2/device/123/attributes": "/api/v2/device/{id}/attributes",
		"/api/v2/device/nABC":           "/api/v2/device/{id}",
		"/api/v2/device/nABC/routes":    "/api/v2/device/{id}/routes",
		"/api/v2/tailnet/-/devices":     "/api/v2/tailnet/-/devices",
		"/api/v2/device/":               "/api/v2/device/",
		"":                              "/",
		"/api/v2/oauth/token":           "/api/v2/oauth/token",
		"/device/a/device/b/attributes": "/device/{id}/device/{id}/attributes",
	}
	for in, want := range cases {
		if got := statsPath(in); got != want {
			t.Errorf("statsPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeQueryMatchesGo(t *testing.T) {
	d := starlark.NewDict(4)
	d.SetKey(starlark.String("z"), starlark.NewList([]starlark.Value{starlark.String("b a"), starlark.MakeInt(2)}))
	d.SetKey(starlark.String("a&b"), starlark.String("ü/?"))
	d.SetKey(starlark.String("n"), starlark.MakeInt64(-7))
	got, err := encodeQuery("t", "params", d)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"z": {"b a", "2"}, "a&b": {"ü/?"}, "n": {"-7"}}.Encode()
	if got != want {
		t.Errorf("encodeQuery = %q, want %q", got, want)
	}
	bad := starlark.NewDict(1)
	bad.SetKey(starlark.String("b"), starlark.Bool(true))
	if _, err := encodeQuery("http.get", "params", bad); err == nil || !strings.Contains(err.Error(), `http.get: params["b"]: got bool`) {
		t.Errorf("bool value: err = %v", err)
	}
}

func TestAppendStringIsValidJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x01\x1f\x7f", "nl\n\r\t", "utf8 ü € 😀",
		"bad \xff\xfe utf8", "\u2028\u2029", strings.Repeat("x", 5000)} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("appendString(%q) = %s: invalid JSON: %v", s, b, err)
			continue
		}
		var want string
		std, _ := json.Marshal(s) // encoding/json also writes one U+FFFD per bad byte
		json.Unmarshal(std, &want)
		if got != want {
			t.Errorf("appendString(%q) round-trips to %q", s, got)
		}
	}
}

func TestKeepAddress(t *testing.T) {
	for s, keep := range map[string]bool{
		"127.0.0.1": false, "127.1.2.3": false, "::1": false, "224.0.0.251": false, "ff02::1": false,
		"0.0.0.0": false, "::": false, "::ffff:127.0.0.1": false,
		"169.254.0.1": true, "fe80::1": true, "100.64.0.1": true, "10.0.0.1": true, "fd7a:115c:a1e0::1": true, "8.8.8.8": true,
	} {
		if got := keepAddress(netip.MustParseAddr(s)); got != keep {
			t.Errorf("keepAddress(%s) = %v, want %v", s, got, keep)
		}
	}
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	script := writeScript(t, "def main(**kw):\n    return None\n")
	for _, args := range [][]string{
		{},
		{"--filename", "/nonexistent/x.star"},
		{"--filename", script, "--no-such-flag"},
		{"--filename", script, "--now", "yesterday"},
		{"--filename", script, "--transport-errors", "retry"},
		{"--filename", script, "--invalid-ip", "maybe"},
		{"--filename", script, "--route", "nourl"},
		{"--filename", script, "--route", "https://api.example.test=127.0.0.1:8080"},
		{"--filename", script, "--args-json", "[]"},
		{"--filename", script, "stray"},
	} {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code != ExitUsage {
			t.Errorf("Main(%q) = %d, want %d; stderr %s", args, code, ExitUsage, errb.String())
		}
	}
}

// Two runs at once with different settings do not see each other's state.
func TestConcurrentRunsAreIsolated(t *testing.T) {
	script := writeScript(t, `
load("time", "now")
load("http", "get")
def main(**kw):
    r = get("https://api.example.test/echo")
    print(str(now())[:10], r.status_code if r else None)
`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			day := fmt.Sprintf("2026-01-%02d", i+1)
			args := []string{"--filename", script, "--now", day + "T00:00:00Z"}
			want := day + " None"
			if i%2 == 0 {
				args = append(args, "--route", "https://api.example.test="+srv.URL)
				want = day + " 200"
			} else {
				args = append(args, "--route", "https://api.example.test=http://127.0.0.1:1")
			}
			var out, errb bytes.Buffer
			if code := Main(args, &out, &errb); code != 0 {
				errs <- fmt.Errorf("run %d: exit %d: %s", i, code, errb.String())
				return
			}
			if got := strings.TrimSpace(out.String()); got != want {
				errs <- fmt.Errorf("run %d: got %q, want %q", i, got, want)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Large bodies arrive intact with and without Content-Length, and the
// stats account for them.
func TestLargeBodies(t *testing.T) {
	big := bytes.Repeat([]byte(`{"k":"0123456789abcdef"},`), 400000) // ~10 MB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		}
		w.Write(big)
	}))
	defer srv.Close()
	script := writeScript(t, `
load("http", "get")
def main(**kw):
    a = get(kw["base"] + "/fixed")
    b = get(kw["base"] + "/chunked")
    print(len(a.body), len(b.body), a.body == b.body)
`)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main([]string{"--filename", script, "--kwargs", "base=" + srv.URL, "--stats", filepath.Join(dir, "s.json")}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := fmt.Sprintf("%d %d True", len(big), len(big))
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var st map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "s.json"))
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if st["bytes_received"].(float64) != float64(2*len(big)) {
		t.Errorf("bytes_received = %v, want %d", st["bytes_received"], 2*len(big))
	}
	wall, script_, httpS := st["wall_seconds"].(float64), st["script_seconds"].(float64), st["http_seconds"].(float64)
	if d := wall - script_ - httpS; d > 1e-5 || d < -1e-5 || httpS <= 0 {
		t.Errorf("script_seconds %v + http_seconds %v != wall_seconds %v", script_, httpS, wall)
	}
}

// --output streams many assets; every line is one JSON record.
func TestOutputManyAssets(t *testing.T) {
	script := writeScript(t, `
load("runzero.types", "ImportAsset", "NetworkInterface")
def main(**kw):
    return [ImportAsset(id = "a%d" % i, hostnames = ["h%d" % i], customAttributes = {"i": str(i)},
                        networkInterfaces = [NetworkInterface(ipv4Addresses = ["10.0.%d.%d" % (i // 256 % 256, i % 256)])])
            for i in range(20000)]
`)
	dir := t.TempDir()
	outFile := filepath.Join(dir, "out.jsonl")
	var out, errb bytes.Buffer
	if code := Main([]string{"--filename", script, "--output", outFile, "--strict"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	data, _ := os.ReadFile(outFile)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 20000 {
		t.Fatalf("%d lines, want 20000", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[19999]), &rec); err != nil || rec["id"] != "a19999" {
		t.Errorf("last line %q: %v", lines[19999], err)
	}
}

// A failed run leaves --output empty ("nothing imported").
func TestOutputEmptyOnFailure(t *testing.T) {
	dir := t.TempDir()
	outFile := filepath.Join(dir, "out.jsonl")
	os.WriteFile(outFile, []byte("stale\n"), 0o644)
	script := writeScript(t, "def main(**kw):\n    fail(\"no\")\n")
	var out, errb bytes.Buffer
	if code := Main([]string{"--filename", script, "--output", outFile}, &out, &errb); code != ExitScript {
		t.Fatalf("exit %d", code)
	}
	if data, _ := os.ReadFile(outFile); len(data) != 0 {
		t.Errorf("--output after failure = %q, want empty", data)
	}
}

// TestMaxRSSSeesThisProcessGrow checks the peak comes from this process's own
// pages (VmHWM): after writing to 64 MiB it is at least that. (The kernel's
// RSS counters are approximate and freed heap may be reused, so the test does
// not compare against the value before.)
func TestMaxRSSSeesThisProcessGrow(t *testing.T) {
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if got := maxRSS(); got < 64<<20 {
		t.Fatalf("maxRSS after touching 64 MiB: %d bytes", got)
	}
	runtime.KeepAlive(buf)
}

// TestProfilesAreWritten checks that --cpuprofile and --starlark-profile each
// leave a non-empty pprof file once the run ends.
func TestProfilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "p.star")
	if err := os.WriteFile(script, []byte("def main(**kwargs):\n    return [x * x for x in range(1000)] and None\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cpu, star := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "star.pprof")
	var out, errb bytes.Buffer
	if code := Main([]string{"--filename", script, "--cpuprofile", cpu, "--starlark-profile", star}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, path := range []string{cpu, star} {
		if info, err := os.Stat(path); err != nil || info.Size() == 0 {
			t.Errorf("%s: not written (%v)", path, err)
		}
	}
}

// dir() sorts the slice AttrNames returns in place, so no value may hand out
// a slice that it, or other values of its type, will hand out again.
func TestAttrNamesAreFresh(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	sess := &session{headers: http.Header{}, jar: jar}
	values := []starlark.HasAttrs{
		&response{status: "200 OK"},
		sess, &sessionHeaders{sess}, &sessionCookies{sess}, &cookie{name: "c"},
		ipAddress{netip.MustParseAddr("10.0.0.1")},
	}
	for _, s := range []*schema{assetSchema, ifaceSchema, softwareSchema, vulnSchema} {
		values = append(values, &record{s: s, vals: make([]starlark.Value, len(s.fields))})
	}
	for _, v := range values {
		first := v.AttrNames()
		want := slices.Clone(first)
		slices.Reverse(first)
		if got := v.AttrNames(); !slices.Equal(got, want) {
			t.Errorf("%s: AttrNames after reversing an earlier result = %q, want %q", v.Type(), got, want)
		}
	}
}

// The same through a script: dir() of an asset is sorted, and the schema's
// own list keeps its order.
func TestDirKeepsSchemaOrder(t *testing.T) {
	want := slices.Clone(assetSchema.attrs)
	script := writeScript(t, `
load("runzero.types", "ImportAsset")
def main(**kw):
    print(dir(ImportAsset(id = "a"))[:3])
`)
	var out, errb bytes.Buffer
	if code := Main([]string{"--filename", script}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != `["customAttributes", "deviceType", "domain"]` {
		t.Errorf("dir(asset)[:3] = %s", got)
	}
	if !slices.Equal(assetSchema.attrs, want) {
		t.Errorf("dir() reordered the shared schema: %q, want %q", assetSchema.attrs, want)
	}
}

// --help and -h print, on stdout and with exit 0, one line per flag that
// names it and says what it does.
func TestHelpListsEveryFlag(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out, errb bytes.Buffer
		if code := Main([]string{arg}, &out, &errb); code != ExitOK || errb.Len() != 0 {
			t.Fatalf("%s: exit %d, stderr %q; want 0 and nothing", arg, code, errb.String())
		}
		lines := strings.Split(out.String(), "\n")
		(&options{}).flagSet().VisitAll(func(f *flag.Flag) {
			line := regexp.MustCompile(`^  -{1,2}` + regexp.QuoteMeta(f.Name) + `( \S+)?  +\S`)
			if !slices.ContainsFunc(lines, line.MatchString) {
				t.Errorf("%s: no line describes the flag %q:\n%s", arg, f.Name, out.String())
			}
		})
	}
}

// The --stats keys --help documents are exactly the keys --stats writes.
func TestHelpListsEveryStatsKey(t *testing.T) {
	script := writeScript(t, "def main(**kw):\n    return None\n")
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	var out, errb bytes.Buffer
	if code := Main([]string{"--filename", script, "--stats", statsFile}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var st map[string]any
	data, _ := os.ReadFile(statsFile)
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, k := range statsKeys {
		documented[k[0]] = true
		if _, ok := st[k[0]]; !ok {
			t.Errorf("--help documents %q, which --stats does not write", k[0])
		}
	}
	for k := range st {
		if !documented[k] {
			t.Errorf("--stats writes %q, which --help does not document", k)
		}
	}
}

// A redirect keeps Authorization and Cookie when it stays on the host the
// script asked for (or goes to a subdomain of it, as Go allows) and drops
// them otherwise, judged on the script's URLs even though every host here
// is routed to a loopback server. Once dropped they stay dropped, also when
// a later redirect comes back.
func TestRedirectCredentialsFollowTheScriptsHosts(t *testing.T) {
	home := httptest.NewServer(probeServer())
	defer home.Close()
	other := httptest.NewServer(probeServer())
	defer other.Close()
	e := newEnv(Config{Routes: []Route{
		{Origin: "https://api.tailscale.com", Target: home.URL},
		{Origin: "https://eu.api.tailscale.com", Target: home.URL},
		{Origin: "https://other.example", Target: other.URL},
	}})
	back := "https://other.example/redirect?to=" + url.QueryEscape("https://api.tailscale.com/echo")
	for to, keep := range map[string]bool{
		"https://api.tailscale.com/echo":    true,
		"/echo":                             true,
		"https://eu.api.tailscale.com/echo": true,
		"https://other.example/echo":        false,
		other.URL + "/echo":                 false,
		home.URL + "/echo":                  false, // the same server, but not the host the script named
		back:                                false,
	} {
		headers := starlark.NewDict(2)
		headers.SetKey(starlark.String("Authorization"), starlark.String("Bearer t0k"))
		headers.SetKey(starlark.String("Cookie"), starlark.String("sid=1"))
		a := &requestArgs{url: "https://api.tailscale.com/redirect?to=" + url.QueryEscape(to), headers: headers, timeout: -1}
		v, err := e.do("http.get", http.MethodGet, a, nil)
		if err != nil {
			t.Fatalf("redirect to %s: %v", to, err)
		}
		var echo struct {
			Path    string
			Headers http.Header
		}
		if err := json.Unmarshal([]byte(v.(*response).body), &echo); err != nil || echo.Path != "/echo" {
			t.Fatalf("redirect to %s: did not arrive at /echo: %v %s", to, err, v.(*response).body)
		}
		for _, h := range []string{"Authorization", "Cookie"} {
			if got := echo.Headers.Get(h) != ""; got != keep {
				t.Errorf("redirect to %s: %s arrived = %v, want %v", to, h, got, keep)
			}
		}
	}
}

// peak_live_heap_bytes is positive even for a run that allocates little, and
// grows by at least what a run keeps reachable: n strings of 256 bytes.
func TestPeakLiveHeapGrowsWithAllocation(t *testing.T) {
	script := writeScript(t, "def build(n):\n    return [\"x\" * 256 for i in range(n)]\n")
	peak := func(n int) float64 {
		statsFile := filepath.Join(t.TempDir(), "stats.json")
		var out, errb bytes.Buffer
		args := []string{"--filename", script, "--entry", "build", "--args-json", fmt.Sprintf("[%d]", n), "--stats", statsFile}
		if code := Main(args, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var st map[string]any
		data, _ := os.ReadFile(statsFile)
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		v, ok := st["peak_live_heap_bytes"].(float64)
		if !ok {
			t.Fatalf("--stats has no numeric peak_live_heap_bytes: %s", data)
		}
		return v
	}
	small, big := peak(0), peak(100000)
	if small <= 0 {
		t.Errorf("peak_live_heap_bytes of a small run = %v, want > 0", small)
	}
	if kept := 100000 * 256.0; big < small+kept {
		t.Errorf("peak_live_heap_bytes = %v after keeping %v bytes reachable, %v before", big, kept, small)
	}
}
