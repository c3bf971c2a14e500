"""What `twincore eval writing` runs and reports: the fixed items (`items`) and the aggregation
of scored rows (`report`); the run itself is `twincore.services.writing.evals`."""
