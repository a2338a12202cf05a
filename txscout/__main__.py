"""``python -m txscout``: the same CLI as the ``txscout`` command."""

from txscout.cli import main

main()
