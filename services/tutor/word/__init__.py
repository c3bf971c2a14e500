"""Word problems answered by the core: program-aided or direct candidates, voting on the number."""
