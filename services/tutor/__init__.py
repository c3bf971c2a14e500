"""twincore.services.tutor: the math tutor. `service.py` is the facade (`api.py` its routes,
`store.py`/`models.py` its tables, `evals.py` and `cli.py` its evaluation); `solvers/` solves
problems step by step, `steps/` reads and checks a student's steps, `word/` answers word
problems with the core, `curriculum/` holds the knowledge tree, mastery and practice."""
