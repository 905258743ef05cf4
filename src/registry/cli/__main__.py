"""`python -m registry.cli`."""
from registry.cli import main

main()
