"""``python -m supervision.cli``: the same as the ``supervision`` command."""

from supervision.cli import main

main()
