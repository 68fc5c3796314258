from crowd.cli import main

raise SystemExit(main())
