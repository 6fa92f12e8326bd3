"""Extraction, analysis and the job runner."""
