"""signward: a token-signing platform where no single failed control hands over a signing key."""

__version__ = "0.1.0"
