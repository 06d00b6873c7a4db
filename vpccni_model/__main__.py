"""``python -m vpccni_model``: the command line (``vpccni_model.cli``)."""

from vpccni_model.cli import main

raise SystemExit(main())
