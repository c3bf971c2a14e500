"""twincore.services.tutor: stepwise math tutoring (parsing and checking a student's steps)."""
