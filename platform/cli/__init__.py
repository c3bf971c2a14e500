"""The `twincore` command line: one sub-command group per capability, rich output, `--json`."""
