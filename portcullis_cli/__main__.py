"""``python -m portcullis_cli login REGISTRY``."""

import sys

from portcullis_cli.main import main

sys.exit(main())
