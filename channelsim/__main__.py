"""`python -m channelsim` runs the command line, as the `channelsim` command does."""

from channelsim.cli import main

main()
