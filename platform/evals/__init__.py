"""Verifiable evaluation workloads: math and code tasks with checkers for the model cores."""
