"""The issuer tests share the `served` fixture of tests/conftest.py."""

from tests.conftest import Served

__all__ = ["Served"]
