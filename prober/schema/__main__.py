"""`python -m prober.schema`: write result.schema.json from the base and the probe kinds."""

from prober.schema import main

raise SystemExit(main())
