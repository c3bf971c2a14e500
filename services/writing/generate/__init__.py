"""Checker-guided generation: the task and its drafts (`drafts`), the run through the router
(`run`), and content similarity of a rewrite to its source (`similarity`)."""
