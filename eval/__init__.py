"""Evaluation of the rules analyzer: synthetic set with gold file, scoring, probes, timing (docs/EVALUATION.md)."""
