"""The Python library behind the tests, `make run` and `make bench`.

From the bottom up:
- paths, times, secrets, hostnames: where things are; the RFC 3339 parser; what counts as a
  secret and how it is masked; the placeholder hostnames (the script's own list).
- canned_server: a generic canned-response HTTP server. tailnet: the tailnet model, the
  Tailscale API over a recorded tailnet. mock: the two together, driven by a scenario.
- schema: the scenario format, declared once. scenario: reading scenario files. settings:
  writing a scenario's settings into a copy of the script.
- rzscript: one rzscript run. run: one scenario run (the only one). results: what it produced.
- expectations, invariants: judging a result.
- scenario_table, docs: the generated documents (`make docs`). preview: `make run`.
- generate_tailnet: seeded synthetic tailnets of any size (tests, the oracle's fixtures, the
  benchmark); device_fixtures: every well-formed fixture body, for the oracle.
"""
