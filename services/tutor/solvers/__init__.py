"""Step-by-step SymPy solvers, one module per problem type (linear and radical so far)."""
