"""The scanner's joining of yEnc multipart posts (rt16, rt17): each `=ybegin part=N ... name=X` with a
`=ypart begin=B end=E` line is placed at offset B-1 of its file X (any offset: the file is never
built whole, so a part past 1 MiB is placed as one at its start). A key split between parts lies
across a joint, where one part ends and the next begins: for each file of two or more parts, the
bytes `REACH` either side of each joint (within the parts that touch or overlap there, neighbouring
joints' windows merged) are one more view, starting at a multiple of 8 of the file's offsets (a
known-key search reads 8-byte-aligned windows). A single part is already a view of its own.
More than `MAX_PARTS` parts in a chunk: incomplete (`yenc_views`), never silently left out."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

MAX_PARTS = 4096
REACH = 16 << 10  # bytes read either side of a joint: more than any key's encoding (RSA-4096 PEM: 3.3 KiB)
_BEGIN = re.compile(rb"=ypart [^\r\n]*?\bbegin=([0-9]{1,12})")
_NAME = re.compile(rb"\bname=([^\r\n]{0,256})")

Part = tuple[int, int, bytes, bytes]  # raw start, raw end, the header lines, the decoded body
Joined = tuple[int, int, bytes]
_Piece = tuple[int, int, int, bytes]  # file offset, raw start, raw end, body


def joined_files(parts: Sequence[Part]) -> Iterator[Joined]:
    """(raw start, raw end, the file's bytes around joints) for each name with two parts or more."""
    files: dict[bytes, list[_Piece]] = {}
    for start, end, head, plain in parts:
        begin = _BEGIN.search(head)
        if begin is None:
            continue
        name = _NAME.search(head)
        files.setdefault(name.group(1).strip() if name else b"", []).append(
            (max(0, int(begin.group(1)) - 1), start, end, plain))
    for pieces in files.values():
        if len(pieces) >= 2:
            yield from _joints(sorted(pieces, key=lambda piece: piece[0]))


def _joints(pieces: list[_Piece]) -> Iterator[Joined]:
    """Pieces sorted by offset, in chains where each starts at or before the end of those before
    it (a gap is no joint: nothing is split across it); each chain's windows."""
    chain: list[_Piece] = [pieces[0]]
    reach = pieces[0][0] + len(pieces[0][3])
    for piece in pieces[1:]:
        if piece[0] > reach:
            yield from _windows(chain)
            chain = []
        chain.append(piece)
        reach = max(reach, piece[0] + len(piece[3]))
    yield from _windows(chain)


def _windows(chain: list[_Piece]) -> Iterator[Joined]:
    """`REACH` bytes either side of each joint (the start of every piece but the first), joints
    closer than 2 * `REACH` in one window, the bytes of the pieces around them placed in it."""
    joints = [piece[0] for piece in chain[1:]]  # joints[i] is where chain[i + 1] begins
    first = 0
    while first < len(joints):
        last = first
        while last + 1 < len(joints) and joints[last + 1] - joints[last] <= 2 * REACH:
            last += 1
        members = chain[first:last + 2]
        low = max(members[0][0], joints[first] - REACH)
        low -= low % 8
        high = min(max(offset + len(body) for offset, _, _, body in members), joints[last] + REACH)
        out = bytearray(high - low)
        for offset, _, _, body in members:
            piece = body[max(0, low - offset):max(0, high - offset)]
            at = max(offset, low) - low
            out[at:at + len(piece)] = piece
        yield min(m[1] for m in members), max(m[2] for m in members), bytes(out)
        first = last + 1


__all__ = ["MAX_PARTS", "joined_files"]
