"""Moderation clusters: schools grade the same anonymised samples of pupils' work."""
