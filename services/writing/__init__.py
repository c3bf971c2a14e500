"""twincore.services.writing: the multi-style writing service (style registry and checkers)."""
