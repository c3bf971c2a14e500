"""Twincore: a domain application platform on two mixture-of-experts model cores."""

__version__ = "0.1.0"
