"""Text-to-Cypher: the guard, direction fixes, label-aware checks, examples and the loop."""
