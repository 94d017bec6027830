"""RFC 6962 / RFC 9162 Merkle trees over the audit records: roots, compact ranges, proofs.

Written from RFC 9162 section 2.1 (no maintained Python library offers it as public API:
sigstore-python's Merkle code is private, and the others are unmaintained). The hash is
SHA-256 with the RFC's domain separation: a leaf is SHA-256(0x00 || data), an interior node
SHA-256(0x01 || left || right). Leaf i of the audit tree is record seq i+1.

A *compact range* (here `frontier`) is the list of roots of the perfect subtrees that cover
leaves [0, size), largest first, one per set bit of `size`. It is all a checkpoint needs to
keep to extend the tree and to prove anything about later leaves once the leaves before it
are pruned (`Tree(start=..., frontier=...)`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_PROOF_HASHES = 128  # a proof in a tree of 2^64 leaves has at most 2 * 64 hashes


class ProofError(ValueError):
    """A proof or a tree request that cannot be answered (out of range, pruned, malformed)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def extend(frontier: Sequence[bytes], size: int, leaves: Iterable[bytes]) -> tuple[list[bytes], int]:
    """The compact range of [0, size) extended by more leaf hashes: (frontier, new size)."""
    if len(frontier) != bin(size).count("1"):
        raise ProofError(f"a compact range of {size} leaves has {bin(size).count('1')} hashes, not {len(frontier)}")
    stack = list(frontier)
    for digest in leaves:
        node, bits = digest, size
        while bits & 1:
            node = node_hash(stack.pop(), node)
            bits >>= 1
        stack.append(node)
        size += 1
    return stack, size


def root_of(frontier: Sequence[bytes]) -> bytes:
    """The tree head of the leaves a compact range covers."""
    if not frontier:
        return EMPTY_ROOT
    node = frontier[-1]
    for left in reversed(frontier[:-1]):
        node = node_hash(left, node)
    return node


def _perfect_ranges(size: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees a compact range of `size` leaves stands for, left to right."""
    out, lo = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            out.append((lo, lo + (1 << bit)))
            lo += 1 << bit
    return out


class Tree:
    """Leaves [start, start + len(leaves)) given by hash, the pruned prefix [0, start) by its
    compact range; answers roots and proofs for any size up to its end."""

    def __init__(self, leaves: Sequence[bytes], start: int = 0, frontier: Sequence[bytes] = ()) -> None:
        ranges = _perfect_ranges(start)
        if len(ranges) != len(frontier):
            raise ProofError(f"the pruned prefix of {start} leaves needs {len(ranges)} hashes, got {len(frontier)}")
        self.start = start
        self.size = start + len(leaves)
        self._leaves = leaves
        self._known: dict[tuple[int, int], bytes] = dict(zip(ranges, frontier, strict=True))

    def _hash(self, lo: int, hi: int) -> bytes:
        known = self._known.get((lo, hi))
        if known is not None:
            return known
        if hi - lo == 1:
            if lo < self.start:
                raise ProofError(f"leaf {lo} was pruned")
            return self._leaves[lo - self.start]
        k = _split(hi - lo)
        digest = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
        if (hi - lo) & (hi - lo - 1) == 0:  # perfect subtrees recur in every later root and proof
            self._known[(lo, hi)] = digest
        return digest

    def _check_size(self, size: int) -> None:
        if not self.start <= size <= self.size:
            raise ProofError(f"tree size {size} is outside {self.start}..{self.size}")

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self._hash(0, size) if size else EMPTY_ROOT

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 2.1.3.1."""
        size = self.size if size is None else size
        self._check_size(size)
        if not self.start <= index < size:
            raise ProofError(f"leaf {index} is not in {self.start}..{size - 1}")
        path, lo, hi = [], 0, size
        while hi - lo > 1:  # top-down; the RFC lists the siblings bottom-up
            k = _split(hi - lo)
            if index - lo < k:
                path.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._hash(lo, lo + k))
                lo += k
        return path[::-1]

    def consistency(self, old: int, size: int | None = None) -> list[bytes]:
        """PROOF(old, D[0:size]) of RFC 9162 2.1.4.1."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 < old <= size:
            raise ProofError(f"old size {old} is not in 1..{size}")
        if old < self.start:
            raise ProofError(f"the tree at size {old} lies in the pruned prefix (before {self.start})")
        proof: list[bytes] = []
        lo, hi, m, complete = 0, size, old, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._hash(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        if not complete:
            proof.append(self._hash(lo, hi))
        return proof[::-1]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size or index < 0 or len(proof) > MAX_PROOF_HASHES:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, size: int, old_root: bytes, root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2 (with its trivial cases: equal sizes need an empty proof and equal roots)."""
    if old < 0 or old > size or len(proof) > MAX_PROOF_HASHES:
        return False
    if old == size:
        return not proof and old_root == root
    if old == 0:
        return not proof
    path = list(proof)
    if not path:
        return False
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == root


__all__ = ["EMPTY_ROOT", "ProofError", "Tree", "extend", "leaf_hash", "node_hash", "root_of",
           "verify_consistency", "verify_inclusion"]
