package rz

// Module crypto (v1 members).
//
//	sha256(x), sha512(x), sha1(x), md5(x) -> str
//
// x is str or bytes; the digest is returned as lower-case hex.

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"

	"go.starlark.net/starlark"
)

func cryptoModule() starlark.StringDict {
	digest := func(name string, newHash func() hash.Hash) *starlark.Builtin {
		return starlark.NewBuiltin("crypto."+name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := stringOrBytesArg(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			h := newHash()
			h.Write([]byte(s))
			return starlark.String(hex.EncodeToString(h.Sum(nil))), nil
		})
	}
	return starlark.StringDict{
		"sha256": digest("sha256", sha256.New),
		"sha512": digest("sha512", sha512.New),
		"sha1":   digest("sha1", sha1.New),
		"md5":    digest("md5", md5.New),
	}
}
