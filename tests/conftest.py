"""pytest configuration of the whole suite: the lab's fixtures and hooks (lab/fixtures.py).

`import lab` works because pytest.ini at the repository root puts the root on the path
(`pythonpath = .`), the one place that does."""

from lab.fixtures import (  # noqa: F401  (fixtures and hooks are found by name)
    client_emptcp,
    lab,
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
    require_kernel_lab,
)
