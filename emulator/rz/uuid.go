package rz

// Module uuid.
//
//	new_uuid() -> str    a random (version 4) UUID, lower-case canonical text

import (
	"crypto/rand"
	"fmt"

	"go.starlark.net/starlark"
)

func uuidModule() starlark.StringDict {
	return starlark.StringDict{
		"new_uuid": starlark.NewBuiltin("uuid.new_uuid", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			var u [16]byte
			if _, err := rand.Read(u[:]); err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			u[6] = u[6]&0x0f | 0x40 // version 4
			u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
			return starlark.String(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), nil
		}),
	}
}
