"""`python -m twincore` runs the CLI."""

from twincore.platform.cli.main import main

main()
