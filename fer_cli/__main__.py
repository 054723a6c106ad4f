"""Entry point for ``python -m fer_cli``."""

from fer_cli.cli import main

if __name__ == "__main__":
    main()
