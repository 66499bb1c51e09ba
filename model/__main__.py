"""`python -m model ...`: see `model/cli/`."""

from model.cli import main

raise SystemExit(main())
