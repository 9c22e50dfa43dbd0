package rz

// Module net (v1 members only).
//
//	ip_address(x) -> ip_address or None
//
// x is a str holding one IPv4 or IPv6 address (an ip_address value is
// returned unchanged). Input that is not a single address -- a hostname, "",
// a CIDR prefix, a zone-suffixed address such as "fe80::1%eth0", surrounding
// spaces -- gives None (or aborts the script under --invalid-ip abort).
// A non-str argument raises.
//
// The result has version (int, 4 or 6) and compressed (str, the canonical
// text); str() gives the canonical text too. It is truthy, hashable and
// compares equal to ip_address values of the same address.

import (
	"fmt"
	"net/netip"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

func netModule(e *env) starlark.StringDict {
	return starlark.StringDict{
		"ip_address": starlark.NewBuiltin("net.ip_address", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
				return nil, err
			}
			switch v := x.(type) {
			case ipAddress:
				return v, nil
			case starlark.String:
				if a, ok := parseIP(string(v)); ok {
					return ipAddress{a}, nil
				}
				if e.cfg.InvalidIPAbort {
					return nil, fmt.Errorf("%s: %s is not an IP address", b.Name(), v.String())
				}
				return starlark.None, nil
			default:
				return nil, fmt.Errorf("%s: got %s, want str", b.Name(), x.Type())
			}
		}),
	}
}

// parseIP accepts exactly one address, without zone or prefix length.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// ipAddress is the value returned by net.ip_address.
type ipAddress struct{ addr netip.Addr }

var (
	_ starlark.HasAttrs   = ipAddress{}
	_ starlark.Comparable = ipAddress{}
)

func (ip ipAddress) String() string        { return ip.addr.String() }
func (ip ipAddress) Type() string          { return "ip_address" }
func (ip ipAddress) Freeze()               {}
func (ip ipAddress) Truth() starlark.Bool  { return true }
func (ip ipAddress) Hash() (uint32, error) { return starlark.String(ip.addr.String()).Hash() }
func (ip ipAddress) AttrNames() []string   { return []string{"compressed", "version"} }

func (ip ipAddress) Attr(name string) (starlark.Value, error) {
	switch name {
	case "version":
		if ip.addr.Is4() {
			return starlark.MakeInt(4), nil
		}
		return starlark.MakeInt(6), nil
	case "compressed":
		return starlark.String(ip.addr.String()), nil
	}
	return nil, nil
}

func (ip ipAddress) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	c := ip.addr.Compare(y.(ipAddress).addr)
	switch op {
	case syntax.EQL:
		return c == 0, nil
	case syntax.NEQ:
		return c != 0, nil
	case syntax.LT:
		return c < 0, nil
	case syntax.LE:
		return c <= 0, nil
	case syntax.GT:
		return c > 0, nil
	case syntax.GE:
		return c >= 0, nil
	}
	return false, fmt.Errorf("%s not supported for ip_address", op)
}

// keepAddress reports whether runZero keeps an interface address: it drops
// loopback, multicast and unspecified addresses and keeps link-local ones.
func keepAddress(a netip.Addr) bool {
	u := a.Unmap()
	return !(u.IsLoopback() || u.IsMulticast() || u.IsUnspecified())
}
