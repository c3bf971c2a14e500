"""The HTTP edge: OpenAI-compatible API, auth, rate limits, metrics, request log, UIs."""
