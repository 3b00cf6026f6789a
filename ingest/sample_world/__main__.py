"""`python -m ingest.sample_world --out DIR ...`"""

from .cli import main

raise SystemExit(main())
