"""Scoring for `twincore eval support`: reference runs, per-core rows, the comparison rules."""
