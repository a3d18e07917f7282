"""Entry point of ``python -m genai_kit.cli``."""

import sys

from genai_kit.cli.main import main

sys.exit(main())
