"""twincore.services.codegen: generate code, run it in a sandbox, repair it; pass@k harness."""
