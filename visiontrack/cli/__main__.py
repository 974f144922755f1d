import sys

from visiontrack.cli import main

sys.exit(main())
