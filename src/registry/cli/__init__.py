"""The `registry` command.

    registry [-c INI] [--data-dir DIR] COMMAND ...

Commands that change data work while `registry serve` runs: they reach the store through the
ZEO socket the server opened (or open the files directly when nothing serves them). Errors in
what was asked print a message and exit 1; wrong usage exits 2.
"""
from registry.cli.base import main
# Each module adds its commands to `main`.
from registry.cli import (  # noqa: E402, F401
    accounts, archive, audit, journal, notify, operations, search, server, signatures)

__all__ = ["main"]

