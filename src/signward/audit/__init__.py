"""Tamper-evident audit log: hash-chained records and HSM-signed checkpoints.

Not yet here (see the audit issue): PostgreSQL, and the records of components that do not
exist yet (dumps) or run outside a home (validator alerts go to its on_alert hook).
"""

from .chain import AuditRecord, Break, check_chain, record_hash
from .log import AuditLog, VerifyResult, retention_floor

__all__ = ["AuditLog", "AuditRecord", "Break", "VerifyResult", "check_chain", "record_hash", "retention_floor"]
