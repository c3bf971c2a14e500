"""A student's steps: reading them (parsing, positions), checking each against the one before,
grading an attempt, graded hints, friendly reasons, and the step-check suite."""
