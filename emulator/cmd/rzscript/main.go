// Command rzscript runs a runZero custom-integration Starlark script the way
// runZero's `runzero script` does, with extra flags for local testing.
// See ../../README.md for the flags.
package main

import (
	"os"

	"rzscript/rz"
)

func main() {
	os.Exit(rz.Main(os.Args[1:], os.Stdout, os.Stderr))
}
