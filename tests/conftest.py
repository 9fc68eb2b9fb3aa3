"""pytest root configuration: tests/ on sys.path (for `import lab`), shared lab fixtures."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab.fixtures import (  # noqa: E402,F401  (fixtures and hooks are found by name)
    client_emptcp,
    lab,
    pytest_runtest_makereport,
    require_kernel_lab,
)
