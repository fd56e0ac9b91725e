"""The command line, ``hotelectron COMMAND ...``: one module per command group, each importing the
layers below only when its command runs, so that ``hotelectron --help`` stays fast."""
