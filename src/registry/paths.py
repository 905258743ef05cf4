"""Where the shipped folders (`templates/`, `workflows/`, `etc/`) are.

In a source checkout (and an editable install) they sit at the top of the repository, two
levels above this package; a wheel carries them inside the package (see setup.py).
"""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(name):
    """Return the directory of the shipped folder `name`.

    Raises FileNotFoundError when neither the packaged copy nor the checkout's exists.
    """
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found beside {PACKAGE_DIR}")
