"""Tamper-evident audit log: hash-chained records and HSM-signed checkpoints.

Not yet here (see the audit issue): the retention floor and pruning, PostgreSQL, and the
records written by the other components.
"""

from .chain import AuditRecord, Break, check_chain, record_hash
from .log import AuditLog, VerifyResult

__all__ = ["AuditLog", "AuditRecord", "Break", "VerifyResult", "check_chain", "record_hash"]
