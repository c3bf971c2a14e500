"""Step-by-step SymPy solvers, one module per problem type; `dispatch.solve` picks one."""
