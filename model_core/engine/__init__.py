"""The inference engine: paged KV cache, continuous batching, prefix cache, sampling."""
