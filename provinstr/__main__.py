"""`python -m provinstr` is the `provinstr` command."""

from provinstr.cli import main

if __name__ == "__main__":
    main()
