"""``python -m kanri`` is the ``kanri`` command."""

from kanri.cli.main import main

main()
