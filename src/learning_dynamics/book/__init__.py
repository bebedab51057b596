"""The book's own tooling (not science): the Sphinx extension, the student edition and
the benchmark.  Nothing in the scientific subpackages imports this package."""
