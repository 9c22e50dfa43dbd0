package rz

// Module http: runZero's stateless HTTP client (v1 members only).
//
//	get(url, headers=, params=, body=, timeout=, insecure_skip_verify=) -> response or None
//	post, put, patch, delete: the same arguments and result.
//	url_encode(dict) -> str
//
// Arguments of the verbs:
//   - url: str, positional or keyword. Required.
//   - headers: dict of str -> str. Sent as given (names canonicalised by Go).
//   - params: dict of str -> str | int | list of str/int; encoded into the
//     query string (sorted keys, like Go's url.Values.Encode) and appended to
//     any query already in url (a trailing '?' is fine).
//   - body: bytes or str, sent as is. Any verb may carry one.
//   - timeout: int or float seconds for the whole exchange, body included.
//     Default DefaultHTTPTimeout; 0 means no limit.
//   - insecure_skip_verify: bool; skip TLS certificate verification.
//   - any other keyword raises "http.get: unexpected keyword argument ...".
//
// The response is truthy and has status_code (int), status (str, "200 OK"),
// headers (dict of canonical name -> list of str) and body (str holding the
// raw bytes). A non-2xx status never raises. A transport failure (refused
// connection, DNS, TLS, timeout, dropped connection) returns None, or aborts
// the script when the run uses --transport-errors abort. A malformed url or
// bad argument always raises.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unsafe"

	"go.starlark.net/starlark"
)

// DefaultHTTPTimeout applies when a script passes no timeout=.
const DefaultHTTPTimeout = 30 * time.Second

func httpModule(e *env) starlark.StringDict {
	verb := func(method string) *starlark.Builtin {
		name := "http." + strings.ToLower(method)
		return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			a, err := unpackRequestArgs(b.Name(), args, kwargs, httpKeywords)
			if err != nil {
				return nil, err
			}
			return e.do(b.Name(), method, a, nil)
		})
	}
	return starlark.StringDict{
		"get":        verb(http.MethodGet),
		"post":       verb(http.MethodPost),
		"put":        verb(http.MethodPut),
		"patch":      verb(http.MethodPatch),
		"delete":     verb(http.MethodDelete),
		"url_encode": starlark.NewBuiltin("http.url_encode", urlEncodeBuiltin),
	}
}

var (
	httpKeywords    = []string{"url", "headers", "params", "body", "timeout", "insecure_skip_verify"}
	sessionKeywords = []string{"url", "headers", "params", "body", "timeout", "cookies"}
)

// requestArgs are the unpacked arguments of one request.
type requestArgs struct {
	url      string
	headers  *starlark.Dict
	params   starlark.Value // dict or nil
	body     []byte
	hasBody  bool
	timeout  time.Duration
	insecure bool
	cookies  starlark.Value
}

// unpackRequestArgs parses (url, **kw) against the allowed keyword names.
// None for any keyword means "not given".
func unpackRequestArgs(fn string, args starlark.Tuple, kwargs []starlark.Tuple, allowed []string) (*requestArgs, error) {
	a := &requestArgs{timeout: -1}
	if len(args) > 1 {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most 1 (url); pass the others by keyword", fn, len(args))
	}
	seen := map[string]bool{}
	var urlV starlark.Value
	if len(args) == 1 {
		urlV = args[0]
		seen["url"] = true
	}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		ok := false
		for _, n := range allowed {
			if n == name {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: unexpected keyword argument %q", fn, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: got multiple values for argument %q", fn, name)
		}
		seen[name] = true
		v := kv[1]
		if v == starlark.None {
			continue
		}
		switch name {
		case "url":
			urlV = v
		case "headers":
			d, ok := v.(*starlark.Dict)
			if !ok {
				return nil, fmt.Errorf("%s: headers: got %s, want dict", fn, v.Type())
			}
			a.headers = d
		case "params":
			if _, ok := v.(*starlark.Dict); !ok {
				return nil, fmt.Errorf("%s: params: got %s, want dict", fn, v.Type())
			}
			a.params = v
		case "body":
			switch b := v.(type) {
			case starlark.Bytes:
				a.body = unsafe.Slice(unsafe.StringData(string(b)), len(b))
			case starlark.String:
				a.body = unsafe.Slice(unsafe.StringData(string(b)), len(b))
			default:
				return nil, fmt.Errorf("%s: body: got %s, want bytes or str", fn, v.Type())
			}
			a.hasBody = true
		case "timeout":
			secs, ok := starlark.AsFloat(v)
			if _, isBool := v.(starlark.Bool); !ok || isBool {
				return nil, fmt.Errorf("%s: timeout: got %s, want int or float seconds", fn, v.Type())
			}
			if secs < 0 || secs != secs {
				return nil, fmt.Errorf("%s: timeout: %v is not a valid number of seconds", fn, v)
			}
			if secs > 1e9 {
				secs = 1e9
			}
			a.timeout = time.Duration(secs * float64(time.Second))
		case "insecure_skip_verify":
			b, ok := v.(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s: insecure_skip_verify: got %s, want bool", fn, v.Type())
			}
			a.insecure = bool(b)
		case "cookies":
			a.cookies = v
		}
	}
	if urlV == nil {
		return nil, fmt.Errorf("%s: missing argument \"url\"", fn)
	}
	s, ok := urlV.(starlark.String)
	if !ok {
		return nil, fmt.Errorf("%s: url: got %s, want str", fn, urlV.Type())
	}
	a.url = string(s)
	return a, nil
}

// encodeQuery encodes a dict of str -> str|int|list like url.Values.Encode.
func encodeQuery(fn, what string, d *starlark.Dict) (string, error) {
	vals := url.Values{}
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return "", fmt.Errorf("%s: %s: key %s is %s, want str", fn, what, item[0].String(), item[0].Type())
		}
		key := string(k)
		add := func(v starlark.Value) error {
			switch x := v.(type) {
			case starlark.String:
				vals.Add(key, string(x))
			case starlark.Int:
				vals.Add(key, x.String())
			default:
				return fmt.Errorf("%s: %s[%q]: got %s, want str, int or a list of them", fn, what, key, v.Type())
			}
			return nil
		}
		switch x := item[1].(type) {
		case *starlark.List:
			for i := 0; i < x.Len(); i++ {
				if err := add(x.Index(i)); err != nil {
					return "", err
				}
			}
		case starlark.Tuple:
			for _, el := range x {
				if err := add(el); err != nil {
					return "", err
				}
			}
		default:
			if err := add(x); err != nil {
				return "", err
			}
		}
	}
	return vals.Encode(), nil
}

// url_encode(dict) -> str: "a=1&b=x+y", keys sorted.
func urlEncodeBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d *starlark.Dict
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &d); err != nil {
		return nil, err
	}
	s, err := encodeQuery(b.Name(), "argument", d)
	if err != nil {
		return nil, err
	}
	return starlark.String(s), nil
}

// safeURL is rawURL without query and fragment, for error messages and logs
// (a query may carry credentials).
func safeURL(rawURL string) string {
	if i := strings.IndexAny(rawURL, "?#"); i >= 0 {
		return rawURL[:i]
	}
	return rawURL
}

// statsPath groups a URL path for --stats: the segment after each "device"
// segment becomes "{id}".
func statsPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.Contains(p, "/device/") {
		return p
	}
	segs := strings.Split(p, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "device" && segs[i+1] != "" {
			segs[i+1] = "{id}"
			i++
		}
	}
	return strings.Join(segs, "/")
}

// do sends one request and builds the response value. sess may be nil.
func (e *env) do(fn, method string, a *requestArgs, sess *session) (starlark.Value, error) {
	target := a.url
	if a.params != nil {
		q, err := encodeQuery(fn, "params", a.params.(*starlark.Dict))
		if err != nil {
			return nil, err
		}
		if q != "" {
			frag := ""
			if i := strings.IndexByte(target, '#'); i >= 0 {
				target, frag = target[:i], target[i:]
			}
			switch {
			case strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&"):
				target += q
			case strings.Contains(target, "?"):
				target += "&" + q
			default:
				target += "?" + q
			}
			target += frag
		}
	}
	orig, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid url %q: %v", fn, safeURL(a.url), err)
	}
	if (orig.Scheme != "http" && orig.Scheme != "https") || orig.Host == "" {
		return nil, fmt.Errorf("%s: invalid url %q: want an absolute http:// or https:// URL", fn, safeURL(a.url))
	}

	timeout := a.timeout
	if timeout < 0 {
		timeout = e.cfg.DefaultTimeout
	}
	ctx := context.Background()
	cancel := func() {}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()

	var body io.Reader
	if a.hasBody {
		body = bytes.NewReader(a.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid url %q: %v", fn, safeURL(a.url), err)
	}
	// Host stays empty unless the script sets it, so that a routed request
	// carries its target's host (see routeTransport).
	req.Host = ""
	if sess != nil {
		for k, v := range sess.headers {
			req.Header[k] = append([]string(nil), v...)
		}
	}
	if a.headers != nil {
		for _, item := range a.headers.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: headers: key %s is %s, want str", fn, item[0].String(), item[0].Type())
			}
			v, ok := item[1].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: headers[%q]: got %s, want str", fn, string(k), item[1].Type())
			}
			if http.CanonicalHeaderKey(string(k)) == "Host" {
				req.Host = string(v)
				continue
			}
			req.Header.Set(string(k), string(v))
		}
	}
	if sess != nil {
		if err := sess.addCookies(fn, req, orig, a.cookies); err != nil {
			return nil, err
		}
	}
	client := e.secure
	if a.insecure || (sess != nil && sess.insecure) {
		client = e.unsafe
	}

	e.stats.HTTPRequests++
	e.stats.ByPath[statsPath(orig.Path)]++
	start := time.Now()
	resp, data, err := send(client, req)
	e.stats.HTTPNanos += int64(time.Since(start))
	e.stats.BytesReceived += int64(len(data))
	if err != nil {
		msg := describeTransportError(err, ctx, timeout)
		if e.cfg.TransportAbort {
			return nil, fmt.Errorf("%s: %s %s: transport error: %s", fn, method, safeURL(a.url), msg)
		}
		e.warn("%s %s %s: transport error, returning None: %s", fn, method, safeURL(a.url), msg)
		return starlark.None, nil
	}
	if sess != nil {
		sess.jar.SetCookies(orig, resp.Cookies())
	}
	return &response{
		code:   resp.StatusCode,
		status: resp.Status,
		hdr:    resp.Header,
		body:   starlark.String(data),
	}, nil
}

// send performs the request and reads the whole body. The body is read
// into one exactly sized buffer when the length is known, and turned into
// a string without copying.
func send(client *http.Client, req *http.Request) (*http.Response, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var buf []byte
	if n := resp.ContentLength; n >= 0 && n < 1<<31 {
		buf = make([]byte, n)
		m, err := io.ReadFull(resp.Body, buf)
		if err != nil {
			return nil, string(buf[:m]), err
		}
	} else {
		var b bytes.Buffer
		if _, err := b.ReadFrom(resp.Body); err != nil {
			return nil, b.String(), err
		}
		buf = b.Bytes()
		if cap(buf)-len(buf) > len(buf)/8 {
			buf = append([]byte(nil), buf...)
		}
	}
	if len(buf) == 0 {
		return resp, "", nil
	}
	return resp, unsafe.String(&buf[0], len(buf)), nil
}

func describeTransportError(err error, ctx context.Context, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return fmt.Sprintf("timeout after %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// response is the value returned by the http verbs and session verbs.
type response struct {
	code    int
	status  string
	hdr     http.Header
	headers *starlark.Dict // built on first use
	body    starlark.String
	frozen  bool
}

var _ starlark.HasAttrs = (*response)(nil)

func (r *response) String() string { return fmt.Sprintf("<response %s>", r.status) }
func (r *response) Type() string   { return "response" }
func (r *response) Freeze() {
	r.frozen = true
	if r.headers != nil {
		r.headers.Freeze()
	}
}
func (r *response) Truth() starlark.Bool  { return true }
func (r *response) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: response") }
func (r *response) AttrNames() []string   { return []string{"body", "headers", "status", "status_code"} }

func (r *response) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status_code":
		return starlark.MakeInt(r.code), nil
	case "status":
		return starlark.String(r.status), nil
	case "body":
		return r.body, nil
	case "headers":
		if r.headers == nil {
			r.headers = headerDict(r.hdr)
			if r.frozen {
				r.headers.Freeze()
			}
		}
		return r.headers, nil
	}
	return nil, nil
}

// headerDict converts an http.Header to a dict of name -> list of str,
// names in sorted order.
func headerDict(h http.Header) *starlark.Dict {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		vs := h[k]
		elems := make([]starlark.Value, len(vs))
		for i, v := range vs {
			elems[i] = starlark.String(v)
		}
		d.SetKey(starlark.String(k), starlark.NewList(elems))
	}
	return d
}
