"""Case work on alerts: the status workflow with its append-only audit trail (`workflow`)."""
