"""Core backends: what a model core runs on (our engine in-process, or a remote API)."""
