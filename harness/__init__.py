"""The Python library behind the tests, `make run` and `make bench`."""
