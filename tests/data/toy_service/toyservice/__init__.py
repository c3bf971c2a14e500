"""A sixth service that lives outside the repository's services/: one package, one registration.

The platform must pick up its API, screen, CLI, evaluation and table from its component alone.
"""
