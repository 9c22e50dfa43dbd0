package rz

// Module requests: HTTP sessions that keep headers and cookies.
//
//	Session(insecure_skip_verify=False) -> session
//	Cookie(name, value, path="", domain="", secure=False, http_only=False, max_age=0) -> cookie
//
// A session has:
//   - get/post/put/patch/delete/head(url, headers=, params=, body=, timeout=, cookies=)
//     -> response or None, exactly like the http verbs (same response, same
//     transport-error rule); method names are case-insensitive (session.GET).
//     cookies= is a dict of name -> value or a list of Cookie, sent with this
//     request only. Session headers are sent first; headers= overrides them.
//   - headers.set(name, value) (value None deletes), headers.get(name) -> str or None
//   - cookies.set(url, dict | list of Cookie), cookies.get(url) -> dict, cookies.clear()
//
// Cookies set by servers are kept (per session) and sent back on matching
// URLs. Cookie matching uses the URL the script wrote, before --route.

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

func requestsModule(e *env) starlark.StringDict {
	return starlark.StringDict{
		"Session": starlark.NewBuiltin("requests.Session", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			insecure := false
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "insecure_skip_verify??", &insecure); err != nil {
				return nil, err
			}
			jar, _ := cookiejar.New(nil)
			return &session{env: e, insecure: insecure, headers: http.Header{}, jar: jar}, nil
		}),
		"Cookie": starlark.NewBuiltin("requests.Cookie", newCookie),
	}
}

type session struct {
	env      *env
	insecure bool
	headers  http.Header
	jar      *cookiejar.Jar
	frozen   bool
}

var _ starlark.HasAttrs = (*session)(nil)

var sessionVerbs = []string{"delete", "get", "head", "patch", "post", "put"}

func (s *session) String() string        { return "<requests.Session>" }
func (s *session) Type() string          { return "requests.Session" }
func (s *session) Freeze()               { s.frozen = true }
func (s *session) Truth() starlark.Bool  { return true }
func (s *session) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: requests.Session") }
func (s *session) AttrNames() []string {
	return append([]string{"cookies", "headers"}, sessionVerbs...)
}

func (s *session) Attr(name string) (starlark.Value, error) {
	switch name {
	case "headers":
		return &sessionHeaders{s}, nil
	case "cookies":
		return &sessionCookies{s}, nil
	}
	lower := strings.ToLower(name)
	for _, v := range sessionVerbs {
		if v == lower {
			method := strings.ToUpper(v)
			return starlark.NewBuiltin("session."+v, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				a, err := unpackRequestArgs(b.Name(), args, kwargs, sessionKeywords)
				if err != nil {
					return nil, err
				}
				return s.env.do(b.Name(), method, a, s)
			}), nil
		}
	}
	return nil, nil
}

// addCookies adds the jar's cookies for orig plus the per-call cookies= value.
func (s *session) addCookies(fn string, req *http.Request, orig *url.URL, extra starlark.Value) error {
	for _, c := range s.jar.Cookies(orig) {
		req.AddCookie(c)
	}
	if extra == nil {
		return nil
	}
	cs, err := cookiesFrom(fn+": cookies", extra)
	if err != nil {
		return err
	}
	for _, c := range cs {
		req.AddCookie(c)
	}
	return nil
}

// cookiesFrom accepts a dict of name -> value or a list of Cookie.
func cookiesFrom(what string, v starlark.Value) ([]*http.Cookie, error) {
	var out []*http.Cookie
	switch x := v.(type) {
	case *starlark.Dict:
		for _, item := range x.Items() {
			k, ok1 := item[0].(starlark.String)
			val, ok2 := item[1].(starlark.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: want a dict of str -> str, got %s -> %s", what, item[0].Type(), item[1].Type())
			}
			out = append(out, &http.Cookie{Name: string(k), Value: string(val)})
		}
	case *starlark.List:
		for i := 0; i < x.Len(); i++ {
			c, ok := x.Index(i).(*cookie)
			if !ok {
				return nil, fmt.Errorf("%s[%d]: got %s, want requests.Cookie", what, i, x.Index(i).Type())
			}
			out = append(out, c.http())
		}
	case *cookie:
		out = append(out, x.http())
	default:
		return nil, fmt.Errorf("%s: got %s, want dict or list of requests.Cookie", what, v.Type())
	}
	return out, nil
}

// sessionHeaders is session.headers.
type sessionHeaders struct{ s *session }

func (h *sessionHeaders) Type() string         { return "requests.Headers" }
func (h *sessionHeaders) Freeze()              {}
func (h *sessionHeaders) Truth() starlark.Bool { return len(h.s.headers) > 0 }
func (h *sessionHeaders) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: requests.Headers")
}
func (h *sessionHeaders) AttrNames() []string { return []string{"get", "set"} }
func (h *sessionHeaders) String() string {
	keys := make([]string, 0, len(h.s.headers))
	for k := range h.s.headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s: %s", starlark.String(k), starlark.String(h.s.headers.Get(k)))
	}
	sb.WriteByte('}')
	return sb.String()
}

func (h *sessionHeaders) Attr(name string) (starlark.Value, error) {
	switch name {
	case "set":
		return starlark.NewBuiltin("session.headers.set", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k string
			var v starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &k, "value", &v); err != nil {
				return nil, err
			}
			if h.s.frozen {
				return nil, fmt.Errorf("%s: session is frozen", b.Name())
			}
			switch x := v.(type) {
			case starlark.NoneType:
				h.s.headers.Del(k)
			case starlark.String:
				h.s.headers.Set(k, string(x))
			default:
				return nil, fmt.Errorf("%s: value: got %s, want str or None", b.Name(), v.Type())
			}
			return starlark.None, nil
		}), nil
	case "get":
		return starlark.NewBuiltin("session.headers.get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &k); err != nil {
				return nil, err
			}
			if vs := h.s.headers.Values(k); len(vs) > 0 {
				return starlark.String(vs[0]), nil
			}
			return starlark.None, nil
		}), nil
	}
	return nil, nil
}

// sessionCookies is session.cookies.
type sessionCookies struct{ s *session }

func (c *sessionCookies) String() string       { return "<requests.Cookies>" }
func (c *sessionCookies) Type() string         { return "requests.Cookies" }
func (c *sessionCookies) Freeze()              {}
func (c *sessionCookies) Truth() starlark.Bool { return true }
func (c *sessionCookies) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: requests.Cookies")
}
func (c *sessionCookies) AttrNames() []string { return []string{"clear", "get", "set"} }

func (c *sessionCookies) Attr(name string) (starlark.Value, error) {
	switch name {
	case "set":
		return starlark.NewBuiltin("session.cookies.set", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var rawURL string
			var v starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &rawURL, "cookies", &v); err != nil {
				return nil, err
			}
			u, err := url.Parse(rawURL)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("%s: invalid url %q", b.Name(), safeURL(rawURL))
			}
			cs, err := cookiesFrom(b.Name()+": cookies", v)
			if err != nil {
				return nil, err
			}
			c.s.jar.SetCookies(u, cs)
			return starlark.None, nil
		}), nil
	case "get":
		return starlark.NewBuiltin("session.cookies.get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var rawURL string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &rawURL); err != nil {
				return nil, err
			}
			u, err := url.Parse(rawURL)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("%s: invalid url %q", b.Name(), safeURL(rawURL))
			}
			d := starlark.NewDict(4)
			for _, ck := range c.s.jar.Cookies(u) {
				d.SetKey(starlark.String(ck.Name), starlark.String(ck.Value))
			}
			return d, nil
		}), nil
	case "clear":
		return starlark.NewBuiltin("session.cookies.clear", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			c.s.jar, _ = cookiejar.New(nil)
			return starlark.None, nil
		}), nil
	}
	return nil, nil
}

// cookie is the value built by requests.Cookie.
type cookie struct {
	name, value, path, domain string
	secure, httpOnly          bool
	maxAge                    int
}

func newCookie(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := &cookie{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"name", &c.name, "value", &c.value, "path??", &c.path, "domain??", &c.domain,
		"secure??", &c.secure, "http_only??", &c.httpOnly, "max_age??", &c.maxAge); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cookie) http() *http.Cookie {
	return &http.Cookie{Name: c.name, Value: c.value, Path: c.path, Domain: c.domain,
		Secure: c.secure, HttpOnly: c.httpOnly, MaxAge: c.maxAge}
}

func (c *cookie) String() string        { return fmt.Sprintf("<requests.Cookie %s>", c.name) }
func (c *cookie) Type() string          { return "requests.Cookie" }
func (c *cookie) Freeze()               {}
func (c *cookie) Truth() starlark.Bool  { return true }
func (c *cookie) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: requests.Cookie") }
func (c *cookie) AttrNames() []string {
	return []string{"domain", "http_only", "max_age", "name", "path", "secure", "value"}
}
func (c *cookie) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(c.name), nil
	case "value":
		return starlark.String(c.value), nil
	case "path":
		return starlark.String(c.path), nil
	case "domain":
		return starlark.String(c.domain), nil
	case "secure":
		return starlark.Bool(c.secure), nil
	case "http_only":
		return starlark.Bool(c.httpOnly), nil
	case "max_age":
		return starlark.MakeInt(c.maxAge), nil
	}
	return nil, nil
}
