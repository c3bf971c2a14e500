"""Template answers: link the entities a question names, detect its intent, run its template."""
