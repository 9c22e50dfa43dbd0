package rz

// Encoding of returned assets (--output, JSON lines) and of --result values.
//
// An asset is written as the runZero import record: camelCase keys exactly
// as the runzero-sdk aliases, fields in schema order, absent (never given,
// or None) fields omitted, times as RFC 3339 text, addresses in canonical
// text. Interface addresses that are loopback, multicast or unspecified are
// dropped (link-local kept), as runZero's NormalizeAddress does.
//
// Without --strict, what runZero only tolerates is made to fit: custom
// attribute values (and keys) that are not str become str(value); None and
// "" entries in hostnames/tags are dropped; an address given in the other
// family's list is moved to its own family; macAddress "" counts as absent;
// a record whose firstSeenTS/lastSeenTS is in the future is dropped from
// --output with a warning (runZero drops such a record). Over-long values
// pass through unchanged.
//
// With --strict each of those is an error naming the asset and the field,
// and so is everything runzero-sdk's validation would reject: string and
// list length limits, more than 1024 custom attributes, keys over 256 or
// values over 1024 characters, the MAC, CVE, CPE and UUID formats, numeric
// ranges, a timestamp after the run's "now".

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	libtime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

var uuidRe = regexp.MustCompile(`^(urn:uuid:)?\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`)

// errFuture marks a record that runZero would drop (non-strict --output).
type errFuture struct{ msg string }

func (e *errFuture) Error() string { return e.msg }

type encoder struct {
	strict     bool
	now        time.Time
	dropFuture bool // non-strict --output: drop records with future timestamps
	buf        []byte
}

// record appends r as a JSON object.
func (enc *encoder) record(r *record) error {
	s := r.s
	enc.buf = append(enc.buf, '{')
	first := true
	key := func(name string) {
		if !first {
			enc.buf = append(enc.buf, ',')
		}
		first = false
		enc.buf = appendString(enc.buf, name)
		enc.buf = append(enc.buf, ':')
	}
	where := func(f *field) string {
		if s.idIndex >= 0 && r.vals[s.idIndex] != nil {
			if id, ok := r.vals[s.idIndex].(starlark.String); ok {
				return fmt.Sprintf("%s %s: %s", s.name, id.String(), f.camel)
			}
		}
		return s.name + ": " + f.camel
	}
	if s == ifaceSchema {
		return enc.iface(r, key, where)
	}
	for i := range s.fields {
		f := &s.fields[i]
		v := r.vals[i]
		if v == nil || v == starlark.None {
			if f.required {
				return fmt.Errorf("%s is required", where(f))
			}
			continue
		}
		switch f.kind {
		case kStr, kID, kUUID:
			sv, ok := v.(starlark.String)
			if !ok {
				return fmt.Errorf("%s: got %s, want str", where(f), v.Type())
			}
			str := string(sv)
			if enc.strict {
				if f.max > 0 && utf8.RuneCountInString(str) > f.max {
					return fmt.Errorf("%s: %d characters, the limit is %d", where(f), utf8.RuneCountInString(str), f.max)
				}
				if f.re != nil && !f.re.MatchString(str) {
					return fmt.Errorf("%s: %s does not match %s", where(f), sv.String(), f.re)
				}
				if f.kind == kUUID && !uuidRe.MatchString(str) {
					return fmt.Errorf("%s: %s is not a UUID", where(f), sv.String())
				}
			}
			key(f.camel)
			enc.buf = appendString(enc.buf, str)
		case kTime:
			t, ok := v.(libtime.Time)
			if !ok {
				return fmt.Errorf("%s: got %s, want time", where(f), v.Type())
			}
			tt := time.Time(t)
			if f.notFuture && tt.After(enc.now) {
				msg := fmt.Sprintf("%s: %s is in the future (now is %s); runZero drops such a record",
					where(f), tt.Format(time.RFC3339Nano), enc.now.Format(time.RFC3339Nano))
				if enc.strict {
					return errors.New(msg)
				}
				if enc.dropFuture {
					return &errFuture{msg}
				}
			}
			key(f.camel)
			enc.buf = appendString(enc.buf, tt.Format(time.RFC3339Nano))
		case kBool:
			key(f.camel)
			enc.buf = strconv.AppendBool(enc.buf, bool(v.(starlark.Bool)))
		case kInt, kFloat:
			if err := enc.number(f, v, where, key); err != nil {
				return err
			}
		case kIP:
			a, err := ipOf(v)
			if err != nil {
				return fmt.Errorf("%s: %v", where(f), err)
			}
			key(f.camel)
			enc.buf = appendString(enc.buf, a.String())
		case kStrList:
			l, err := enc.list(f, v, where)
			if err != nil {
				return err
			}
			key(f.camel)
			enc.buf = append(enc.buf, '[')
			n := 0
			for j := 0; j < l.Len(); j++ {
				el := l.Index(j)
				sv, ok := el.(starlark.String)
				if !ok && el != starlark.None {
					return fmt.Errorf("%s[%d]: got %s, want str", where(f), j, el.Type())
				}
				if !ok || sv == "" {
					if enc.strict {
						return fmt.Errorf("%s[%d]: %s is not allowed (empty)", where(f), j, el.String())
					}
					continue
				}
				if enc.strict && utf8.RuneCountInString(string(sv)) > f.itemMax {
					return fmt.Errorf("%s[%d]: %d characters, the limit is %d", where(f), j, utf8.RuneCountInString(string(sv)), f.itemMax)
				}
				if n > 0 {
					enc.buf = append(enc.buf, ',')
				}
				n++
				enc.buf = appendString(enc.buf, string(sv))
			}
			enc.buf = append(enc.buf, ']')
		case kAttrs:
			d, ok := v.(*starlark.Dict)
			if !ok {
				return fmt.Errorf("%s: got %s, want dict", where(f), v.Type())
			}
			key(f.camel)
			if err := enc.attrs(d, where(f)); err != nil {
				return err
			}
		case kIfaces, kSoftware, kVulns, kServices:
			l, err := enc.list(f, v, where)
			if err != nil {
				return err
			}
			key(f.camel)
			enc.buf = append(enc.buf, '[')
			for j := 0; j < l.Len(); j++ {
				el := l.Index(j)
				if err := checkElem(f, el); err != nil {
					return fmt.Errorf("%s[%d]: %v", where(f), j, err)
				}
				if j > 0 {
					enc.buf = append(enc.buf, ',')
				}
				if err := enc.record(el.(*record)); err != nil {
					var fe *errFuture
					if errors.As(err, &fe) {
						return err
					}
					return fmt.Errorf("%s[%d]: %v", where(f), j, err)
				}
			}
			enc.buf = append(enc.buf, ']')
		}
	}
	enc.buf = append(enc.buf, '}')
	return nil
}

// list returns v as a list, checking in strict mode that it holds at most
// f.max items.
func (enc *encoder) list(f *field, v starlark.Value, where func(*field) string) (*starlark.List, error) {
	l, ok := v.(*starlark.List)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want list", where(f), v.Type())
	}
	if enc.strict && l.Len() > f.max {
		return nil, fmt.Errorf("%s: %d items, the limit is %d", where(f), l.Len(), f.max)
	}
	return l, nil
}

func (enc *encoder) number(f *field, v starlark.Value, where func(*field) string, key func(string)) error {
	var x float64
	switch n := v.(type) {
	case starlark.Int:
		if f.kind == kInt {
			if enc.strict && f.ranged {
				i, ok := n.Int64()
				if !ok || float64(i) < f.lo || float64(i) > f.hi {
					return fmt.Errorf("%s: %s is outside %v..%v", where(f), n, f.lo, f.hi)
				}
			}
			key(f.camel)
			enc.buf = append(enc.buf, n.String()...)
			return nil
		}
		x = float64(n.Float())
	case starlark.Float:
		if f.kind == kInt {
			return fmt.Errorf("%s: got float, want int", where(f))
		}
		x = float64(n)
	default:
		return fmt.Errorf("%s: got %s, want a number", where(f), v.Type())
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%s: %v is not a finite number", where(f), x)
	}
	if enc.strict && f.ranged && (x < f.lo || x > f.hi) {
		return fmt.Errorf("%s: %v is outside %v..%v", where(f), x, f.lo, f.hi)
	}
	key(f.camel)
	enc.buf = strconv.AppendFloat(enc.buf, x, 'g', -1, 64)
	return nil
}

// iface writes a NetworkInterface: macAddress (when present), then
// ipv4Addresses and ipv6Addresses (always, possibly empty).
func (enc *encoder) iface(r *record, key func(string), where func(*field) string) error {
	fields := ifaceSchema.fields
	if v := r.vals[0]; v != nil && v != starlark.None {
		f := &fields[0]
		sv, ok := v.(starlark.String)
		if !ok {
			return fmt.Errorf("%s: got %s, want str", where(f), v.Type())
		}
		if enc.strict && !f.re.MatchString(string(sv)) {
			return fmt.Errorf("%s: %s is not a MAC address runZero accepts", where(f), sv.String())
		}
		if sv != "" {
			key(f.camel)
			enc.buf = appendString(enc.buf, string(sv))
		}
	}
	var fam [2][]netip.Addr
	for i := 1; i <= 2; i++ {
		f := &fields[i]
		v := r.vals[i]
		if v == nil || v == starlark.None {
			continue
		}
		l, err := enc.list(f, v, where)
		if err != nil {
			return err
		}
		for j := 0; j < l.Len(); j++ {
			a, err := ipOf(l.Index(j))
			if err != nil {
				return fmt.Errorf("%s[%d]: %v", where(f), j, err)
			}
			is4 := a.Is4()
			if enc.strict && is4 != (f.family == 4) {
				return fmt.Errorf("%s[%d]: %s is an IPv%d address", where(f), j, a, map[bool]int{true: 4, false: 6}[is4])
			}
			if !keepAddress(a) {
				continue
			}
			if is4 {
				fam[0] = append(fam[0], a)
			} else {
				fam[1] = append(fam[1], a)
			}
		}
	}
	for i, name := range []string{"ipv4Addresses", "ipv6Addresses"} {
		key(name)
		enc.buf = append(enc.buf, '[')
		for j, a := range fam[i] {
			if j > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.buf = append(enc.buf, '"')
			enc.buf = a.AppendTo(enc.buf)
			enc.buf = append(enc.buf, '"')
		}
		enc.buf = append(enc.buf, ']')
	}
	enc.buf = append(enc.buf, '}')
	return nil
}

func ipOf(v starlark.Value) (netip.Addr, error) {
	switch x := v.(type) {
	case ipAddress:
		return x.addr, nil
	case starlark.String:
		if a, ok := parseIP(string(x)); ok {
			return a, nil
		}
		return netip.Addr{}, fmt.Errorf("%s is not an IP address", x.String())
	}
	return netip.Addr{}, fmt.Errorf("got %s, want str or ip_address", v.Type())
}

// attrs writes a custom-attributes dict as an object of str -> str.
func (enc *encoder) attrs(d *starlark.Dict, where string) error {
	if enc.strict && d.Len() > 1024 {
		return fmt.Errorf("%s: %d attributes, the limit is 1024", where, d.Len())
	}
	enc.buf = append(enc.buf, '{')
	for i, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			if enc.strict {
				return fmt.Errorf("%s: key %s is %s; --strict requires str keys", where, item[0].String(), item[0].Type())
			}
			k = starlark.String(item[0].String())
		}
		if enc.strict && utf8.RuneCountInString(string(k)) > 256 {
			return fmt.Errorf("%s: key %.40q... is %d characters, the limit is 256", where, string(k), utf8.RuneCountInString(string(k)))
		}
		var val string
		switch x := item[1].(type) {
		case starlark.String:
			val = string(x)
		default:
			if enc.strict {
				return fmt.Errorf("%s[%s]: value is %s; --strict requires str values (runZero would only coerce it)", where, k.String(), item[1].Type())
			}
			val = item[1].String()
		}
		if enc.strict && utf8.RuneCountInString(val) > 1024 {
			return fmt.Errorf("%s[%s]: value is %d characters, the limit is 1024", where, k.String(), utf8.RuneCountInString(val))
		}
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.buf = appendString(enc.buf, string(k))
		enc.buf = append(enc.buf, ':')
		enc.buf = appendString(enc.buf, val)
	}
	enc.buf = append(enc.buf, '}')
	return nil
}

// value appends any result value as JSON (--result).
func (enc *encoder) value(v starlark.Value, depth int) error {
	if depth > 200 {
		return fmt.Errorf("value nested deeper than 200 levels (cycle?)")
	}
	switch x := v.(type) {
	case starlark.NoneType:
		enc.buf = append(enc.buf, "null"...)
	case starlark.Bool:
		enc.buf = strconv.AppendBool(enc.buf, bool(x))
	case starlark.Int:
		enc.buf = append(enc.buf, x.String()...)
	case starlark.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("cannot encode non-finite float %v", f)
		}
		enc.buf = append(enc.buf, x.String()...)
	case starlark.String:
		enc.buf = appendString(enc.buf, string(x))
	case starlark.Bytes:
		enc.buf = appendString(enc.buf, string(x))
	case libtime.Time:
		enc.buf = appendString(enc.buf, time.Time(x).Format(time.RFC3339Nano))
	case libtime.Duration:
		enc.buf = appendString(enc.buf, x.String())
	case ipAddress:
		enc.buf = appendString(enc.buf, x.addr.String())
	case *record:
		return enc.record(x)
	case *starlark.Dict:
		enc.buf = append(enc.buf, '{')
		for i, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				k = starlark.String(item[0].String())
			}
			if i > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.buf = appendString(enc.buf, string(k))
			enc.buf = append(enc.buf, ':')
			if err := enc.value(item[1], depth+1); err != nil {
				return err
			}
		}
		enc.buf = append(enc.buf, '}')
	case starlark.Iterable: // list, tuple, set
		enc.buf = append(enc.buf, '[')
		it := x.Iterate()
		defer it.Done()
		var el starlark.Value
		for i := 0; it.Next(&el); i++ {
			if i > 0 {
				enc.buf = append(enc.buf, ',')
			}
			if err := enc.value(el, depth+1); err != nil {
				return err
			}
		}
		enc.buf = append(enc.buf, ']')
	default:
		return fmt.Errorf("cannot encode %s as JSON", v.Type())
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
