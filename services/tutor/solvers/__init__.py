"""Step-by-step SymPy solvers, one module per problem type; `dispatch.solve` picks one.
`suite.py` generates seeded problems of every type with independently computed answers."""
