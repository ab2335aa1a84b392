"""``python -m collectguard``: the ``collectguard`` command."""
import sys

from collectguard.cli import main

sys.exit(main())
