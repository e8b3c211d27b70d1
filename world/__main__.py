"""`python -m world`: run the local world in the foreground (see server.py)."""

import sys

from .server import main

sys.exit(main())
