"""What to learn next: the knowledge tree, mastery by knowledge tracing, practice problems."""
