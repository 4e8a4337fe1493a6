import sys

from rudratune.cli import main

sys.exit(main())
