package rz

// Module json: go.starlark.net lib/json unchanged.
//
//	encode(x) -> str
//	decode(str[, default]) -> value   invalid JSON (including "") raises unless default is given
//	encode_indent(x, prefix=, indent=), indent(str, prefix=, indent=)

import (
	libjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

func jsonModule() starlark.StringDict {
	return libjson.Module.Members
}
