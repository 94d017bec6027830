"""Tamper-evident audit log: hash-chained records and HSM-signed checkpoints.

Records live in the home's store (SQLite, or PostgreSQL for several hosts). The retention
floor (`signward.retention`) keeps every record longer than any key it concerns can verify.
"""

from ..retention import retention_floor
from .anchors import Anchors
from .chain import AuditRecord, Break, check_chain, record_hash
from .log import AuditLog, SignedCheckpoint, VerifyResult

__all__ = ["Anchors", "AuditLog", "AuditRecord", "Break", "SignedCheckpoint", "VerifyResult", "check_chain",
           "record_hash", "retention_floor"]
