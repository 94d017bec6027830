"""What a scan reports: one `Finding` per piece of secret material, grouped per file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Finding:
    """Secret material at `offset` (file offset of the scanned dump, decompressed) for `length` bytes.

    `detector` is the registry name of the detector that found it; `kind` what it is
    (e.g. ``rsa-prime``, ``pem-private-key``, ``aes-256-schedule``); `encoding` how it is laid
    out (``ascii``, ``utf-16le``, ``der``, ``be``, ``le``, ``java``, ``schedule``...). A finding
    matched against a known public key carries that key's `kid` and ``verified=True``.
    `advisory` findings (entropy) are reported but never redacted.
    """

    offset: int
    length: int
    detector: str
    kind: str
    encoding: str
    vaddr: int | None = None
    kid: str | None = None
    verified: bool = False
    advisory: bool = False
    detail: str = field(default="", compare=False)

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["detail"]:
            del data["detail"]
        return data


def count_by_detector(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.detector] = counts.get(finding.detector, 0) + 1
    return counts


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted [start, end) spans with overlapping or touching ones merged."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@dataclass
class FileReport:
    """The result of scanning one file."""

    file: str
    format: str
    bytes: int
    seconds: float
    findings: list[Finding]
    container: str = "none"
    incomplete: list[str] = field(default_factory=list)  # bounded passes that hit their bound
    members: list["FileReport"] = field(default_factory=list)  # a bundle's members (their findings are
    # also in `findings`, each with the member's name in its detail, so a caller that looks only at
    # `findings` still sees every key in the bundle)

    def counts(self) -> dict[str, int]:
        return count_by_detector(self.findings)

    def leaves(self) -> list["FileReport"]:
        """This report, or for a bundle the reports of its members (recursively)."""
        return [leaf for member in self.members for leaf in member.leaves()] if self.members else [self]

    def to_dict(self) -> dict[str, Any]:
        data = {"file": self.file, "format": self.format, "container": self.container, "bytes": self.bytes,
                "seconds": round(self.seconds, 3), "findings": [f.to_dict() for f in self.findings],
                "incomplete": list(self.incomplete)}
        if self.members:
            data["members"] = [m.to_dict() for m in self.members]
        return data
