// Package rz implements rzscript, a runZero-compatible Starlark runtime for
// custom integration scripts, on top of go.starlark.net.
//
// Each runZero module lives in its own file (http.go, requests.go, net.go,
// types.go, time.go, base64.go, uuid.go, crypto.go, gzip.go, flatten.go,
// json.go) and is built per run by a function that takes the run's *env, so
// nothing in this package is global mutable state: routes, the fixed clock,
// the transport-error mode and the statistics counters all live in env.
package rz

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// Route sends requests whose URL starts with Origin to Target instead
// (path and query kept).
type Route struct {
	Origin string
	Target string
}

// Config is the per-run configuration taken from the command line.
type Config struct {
	Routes         []Route
	Strict         bool          // --strict
	TransportAbort bool          // --transport-errors abort
	InvalidIPAbort bool          // --invalid-ip abort
	Now            *time.Time    // --now; nil means the real clock
	DefaultTimeout time.Duration // http timeout when a script passes none
	Warn           func(string)  // where runtime warnings go (stderr); may be nil
}

// Stats are the counters kept during a run (see --stats).
type Stats struct {
	HTTPNanos     int64
	HTTPRequests  int
	ByPath        map[string]int
	BytesReceived int64
}

// env is the state of one run: configuration, counters, HTTP clients and
// the modules that load() can see.
type env struct {
	cfg     Config
	stats   Stats
	secure  *http.Client
	unsafe  *http.Client // InsecureSkipVerify
	modules map[string]starlark.StringDict
	scratch encoder // reused by --strict validation at construction
}

func newEnv(cfg Config) *env {
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = DefaultHTTPTimeout
	}
	e := &env{cfg: cfg, stats: Stats{ByPath: map[string]int{}}}
	e.secure = e.newClient(false)
	e.unsafe = e.newClient(true)
	e.modules = map[string]starlark.StringDict{
		"runzero.types": typesModule(e),
		"json":          jsonModule(),
		"net":           netModule(e),
		"http":          httpModule(e),
		"requests":      requestsModule(e),
		"time":          timeModule(e),
		"uuid":          uuidModule(),
		"gzip":          gzipModule(),
		"base64":        base64Module(),
		"crypto":        cryptoModule(),
		"flatten_json":  flattenModule(),
	}
	return e
}

// now is the run's clock: --now when given, else the real time.
func (e *env) now() time.Time {
	if e.cfg.Now != nil {
		return *e.cfg.Now
	}
	return time.Now()
}

func (e *env) warn(format string, args ...any) {
	if e.cfg.Warn != nil {
		e.cfg.Warn(fmt.Sprintf(format, args...))
	}
}

// load implements thread.Load: module name -> its members.
func (e *env) load(_ *starlark.Thread, module string) (starlark.StringDict, error) {
	if m, ok := e.modules[module]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("no module named %q in this runtime", module)
}

func (e *env) newClient(insecure bool) *http.Client {
	tr := &http.Transport{
		Proxy: nil, // hermetic: never send local test traffic through a proxy
		DialContext: (&net.Dialer{
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: &routeTransport{env: e, next: tr}}
}

// routeTransport applies --route to every request it sends, redirects
// included. It sits below the http.Client so that the client deals only in
// the URLs the script sees: Go's redirect rules (Authorization and Cookie
// dropped when a redirect leaves the host, Referer, the 10-hop limit) then
// judge the hosts the script named, as they would in runZero, and not the
// loopback addresses that several routed hosts share.
type routeTransport struct {
	env  *env
	next http.RoundTripper
}

func (t *routeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	target, ok := t.env.rewrite(req.URL.String())
	if !ok {
		return t.next.RoundTrip(req)
	}
	u, err := url.Parse(target)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// A RoundTripper must not modify the request, so send a shallow copy;
	// its empty Host (unless the script set one) becomes the target's.
	routed := new(http.Request)
	*routed = *req
	routed.URL = u
	resp, err := t.next.RoundTrip(routed)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// rewrite applies the first matching --route to rawURL.
// ORIGIN matches at a boundary: the URL equals it or continues with
// '/', '?' or '#', so https://api.example.com never matches
// https://api.example.com.evil.test.
func (e *env) rewrite(rawURL string) (string, bool) {
	for _, r := range e.cfg.Routes {
		if !strings.HasPrefix(rawURL, r.Origin) {
			continue
		}
		rest := rawURL[len(r.Origin):]
		if rest != "" && !strings.HasSuffix(r.Origin, "/") && !strings.ContainsRune("/?#", rune(rest[0])) {
			continue
		}
		return joinRoute(r.Target, rest), true
	}
	return rawURL, false
}

// joinRoute appends the rest of a matched URL to a route target with exactly
// one '/' between them when both sides have or lack one.
func joinRoute(target, rest string) string {
	switch {
	case rest == "" || rest[0] == '?' || rest[0] == '#':
		return target + rest
	case strings.HasSuffix(target, "/") && rest[0] == '/':
		return target + rest[1:]
	case !strings.HasSuffix(target, "/") && rest[0] != '/':
		return target + "/" + rest
	}
	return target + rest
}
