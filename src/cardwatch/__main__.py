"""``python -m cardwatch``: the same as the ``cardwatch`` command."""

from cardwatch.cli import main

main()
