"""Test harness of the runZero Tailscale integration: mock API, scenario runner, invariants, tests."""
