"""`make bench`: the seeded synthetic tailnet generator and the benchmark driver."""
