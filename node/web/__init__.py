"""The school's web pages, served by its own node (see docs/web.md)."""
