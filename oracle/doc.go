// Package oracle checks the project's mock Tailscale API and its recorded
// fixtures against Tailscale's own Go client, tailscale.com/client/tailscale/v2.
//
// The mock and the fixtures were written from documentation; the client is
// what Tailscale ships against the real API. Decoding through it catches
// fields a fixture invented, misspelled or mistyped, and what the mock drops
// or renames on the way. The tests drive the Python harness as a subprocess;
// see README.md.
package oracle
