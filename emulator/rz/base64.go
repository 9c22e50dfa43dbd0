package rz

// Module base64 (v1 members).
//
//	encode(x) -> str     x is str or bytes; standard alphabet with '=' padding
//	decode(x) -> str     x is str or bytes in the standard alphabet (padding
//	                     optional); the decoded bytes are returned in a str,
//	                     like http response bodies. Invalid input raises.

import (
	"encoding/base64"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

func base64Module() starlark.StringDict {
	return starlark.StringDict{
		"encode": starlark.NewBuiltin("base64.encode", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := stringOrBytesArg(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			return starlark.String(base64.StdEncoding.EncodeToString([]byte(s))), nil
		}),
		"decode": starlark.NewBuiltin("base64.decode", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := stringOrBytesArg(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			out, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
			if err != nil {
				return nil, fmt.Errorf("%s: invalid base64 input: %v", b.Name(), err)
			}
			return starlark.String(out), nil
		}),
	}
}

// stringOrBytesArg unpacks one positional str or bytes argument.
func stringOrBytesArg(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(fn, args, kwargs, 1, &x); err != nil {
		return "", err
	}
	switch v := x.(type) {
	case starlark.String:
		return string(v), nil
	case starlark.Bytes:
		return string(v), nil
	}
	return "", fmt.Errorf("%s: got %s, want str or bytes", fn, x.Type())
}
