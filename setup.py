"""Builds the scanner's compiled filters (signward.dumps._filters: C, linked to OpenSSL's
libcrypto and libsodium); everything else is in pyproject.toml. Without a compiler or those
libraries the extension is left out and the scanner uses its numpy reference filters
(`signward.dumps.compiled.AVAILABLE` says which)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("signward.dumps._filters", ["src/signward/dumps/_filters.c"],
                             libraries=["crypto", "sodium"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
                             optional=True)])
