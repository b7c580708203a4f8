"""The ``schoolmesh`` command line: a thin layer over node/ (see docs/cli.md)."""
