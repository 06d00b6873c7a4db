from vpccni_model.cli import main

raise SystemExit(main())
