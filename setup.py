"""Builds the compiled parts; everything else is in pyproject.toml.

- signward.scan._filters: the scanner's filters (C, linked to OpenSSL's libcrypto and
  libsodium); without them the scanner uses its numpy reference filters
  (`signward.scan.compiled.AVAILABLE` says which).
- signward.guard._h2grpc: the guard's gRPC transport on nghttp2; without it the guard serves
  gRPC with grpcio (`signward.guard.transport.AVAILABLE` says which).

Without a compiler or a library, an extension is left out and its reference is used."""

from setuptools import Extension, setup

FLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(ext_modules=[
    Extension("signward.scan._filters", ["src/signward/scan/_filters.c"], libraries=["crypto", "sodium"],
              extra_compile_args=FLAGS, optional=True),
    Extension("signward.guard._h2grpc", ["src/signward/guard/_h2grpc.c"], libraries=["nghttp2"],
              extra_compile_args=FLAGS, optional=True),
])
