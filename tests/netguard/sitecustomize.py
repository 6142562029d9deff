"""Started by every Python child process of the test suite (conftest puts this folder on
``PYTHONPATH``): the same network guard as the tests' own process. See ``netguard.py``."""

import os

if os.environ.get("NETGUARD_LOG"):
    import netguard

    netguard.install()
