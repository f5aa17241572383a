"""The platform's real services as subprocesses for integration tests, on the test profile's ports.

Ports, paths and the process handling come from the devstack (tools/devstack): `devstack.profiles` defines every
port once, `devstack.service.Service` starts a service, waits for /healthz and stops it.
"""

import os

from devstack import profiles
from devstack.service import Service

ROOT = profiles.ROOT
BIN = profiles.VENV_BIN
TEST = profiles.load("test")
LOGS = TEST.logs_dir
# Services under test listen on PORT_BASE..PORT_BASE+9 (INCIDENTS_TEST_PORT_BASE moves them, to run two test stacks
# side by side).
PORT_BASE = TEST.http_base
PORTS = dict(TEST.service_ports)
SPARE_PORT = TEST.spare_port
PORT_SETTINGS = profiles.PORT_SETTINGS

__all__ = ["BIN", "LOGS", "PORTS", "PORT_BASE", "PORT_SETTINGS", "ROOT", "SPARE_PORT", "Service", "require_env"]


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the integration tests with `make test`")
    return value
