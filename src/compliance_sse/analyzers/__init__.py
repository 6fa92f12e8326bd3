"""Analyzers: turn extracted pages into findings."""
