"""`python -m dashboard ...`: the same verbs as `hingewatch dashboard ...`."""

import sys

from dashboard.cli import main

if __name__ == "__main__":
    sys.exit(main(["dashboard", *sys.argv[1:]]))
