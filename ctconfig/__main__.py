"""`python -m ctconfig` runs the command line."""

from ctconfig.cli import main

if __name__ == "__main__":
    main()
