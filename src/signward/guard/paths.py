"""The one reading of a request path the guard decides on, and every reason a path is refused.

A guard that matched routes on one reading of a path while the upstream served another would
be bypassed (issue #33: `/api/%6dail` matched `/api`, Starlette served `/api/mail`; servlet
containers serve `/public/..;/admin` as `/admin`). So `canonical_path` returns one form or a
`PathReason`, and routes match that form only:

- Escapes of letters, digits, `-`, `_`, `~` (RFC 3986 6.2.2.2, either hex case), of the
  sub-delimiters other than `;`, and of `:` and `@` are decoded: every common upstream decodes
  them before routing. Other escapes stay, with upper-case hex (a space, a quote, UTF-8).
- Refused, each with its reason: a remaining escape of `/`, `\\`, `.`, `;`, `%`, `?`, `#` or a
  control character; `%u`, malformed escapes; invalid or overlong UTF-8 (`%c0%af`); escaped
  characters that Unicode compatibility or case folding turns into ASCII (fullwidth `%ef%bc%8f`
  is `/` to NFKC readers, dotless `%c4%b1` is `I` to case-insensitive ones), and the slash and
  backslash lookalikes that Windows best-fit code pages turn into `/` or `\\` (`%e2%88%95`);
  dot segments, also encoded (`%2e%2e`); a segment that becomes one when `;params` are cut
  (`..;`, `%2e%2e;`, `..%3b`, the servlet reading); any other `;` (path parameters: servlet
  containers drop them, others do not, so there is no one reading); empty segments (`//`:
  nginx and Envoy merge them); backslashes (IIS, Tomcat's ALLOW_BACKSLASH); segments that end
  in `.` or begin or end with a space (Windows drops them, Spring's trimTokens trims them) or
  with a `+`, also escaped (`/admin+`: an upstream that reads `+` as a space and trims serves
  `/admin`);
  Windows file names that IIS serves under another name (`ADMINI~1`, `admin::$DATA`);
  `#` (a fragment is never sent); any other byte outside RFC 3986 `pchar`; more than 8 KiB.
- The query (after the first `?`) is not part of the path and is not read.

Route matching ignores case (IIS and ASP.NET route without it): a path in any case gets the
route of its lower-case form, never a laxer one.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata

MAX_PATH = 8 * 1024
CACHED = 256  # paths up to this length are remembered (bounded: 8,192 of them)
SAFE = "-A-Za-z0-9_~!$&'()*+,=:@"  # pchar without `%`, `;` and `.`
# a path made only of plain segments, none ending in `.` (so none is `.` or `..`): already canonical
PLAIN = re.compile(rf"(?:/[{SAFE}.]*[{SAFE}])+/?|/")
DECODED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~!$&'()*+,=:@")
EDGE_PLUS = re.compile(r"/\+|\+(?:/|$)")  # a `+` beginning or ending a segment (a space to form decoders)
WINDOWS = re.compile(r"~[0-9]|:\$")  # an 8.3 short name (ADMINI~1), an NTFS stream (admin::$DATA)
# slashes and backslashes without a compatibility mapping that Windows "best fit" code pages turn
# into `/` or `\` (division and fraction slash, set minus, solidus operators, yen and won signs)
LOOKALIKES = frozenset("\u2215\u2044\u2216\u29f5\u29f8\u29f9\u00a5\u20a9")
HEX = frozenset("0123456789abcdefABCDEF")
HIGH = frozenset("89abcdefABCDEF")  # the first digit of an escaped byte >= 0x80
RAW = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~!$&'()*+,=:@.")


class PathReason(enum.StrEnum):
    """Why a path was refused (the guard's deny reason, in logs, metrics and the audit log)."""

    TOO_LONG = "path_too_long"
    NOT_ABSOLUTE = "path_not_absolute"  # no leading `/` (absolute-form, `*`, empty)
    FRAGMENT = "path_fragment"
    DOT_SEGMENT_PARAMETER = "path_dot_segment_parameter"  # `..;x`, `%2e%2e;`, `..%3b`
    DOT_SEGMENT = "path_dot_segment"  # `.` or `..`, also encoded
    EMPTY_SEGMENT = "path_empty_segment"  # `//`
    BACKSLASH = "path_backslash"
    CONTROL_CHARACTER = "path_control_character"
    PATH_PARAMETER = "path_parameter"  # `;` anywhere else
    BAD_ESCAPE = "path_bad_escape"  # `%u002e`, `%4`, `%zz`
    ESCAPED_SLASH = "path_escaped_slash"
    ESCAPED_BACKSLASH = "path_escaped_backslash"
    ESCAPED_DOT = "path_escaped_dot"
    ESCAPED_SEMICOLON = "path_escaped_semicolon"
    ESCAPED_PERCENT = "path_escaped_percent"  # `%25`: double encoding
    ESCAPED_DELIMITER = "path_escaped_delimiter"  # `%3f`, `%23`
    ESCAPED_CONTROL = "path_escaped_control"  # `%00`..`%1f`, `%7f`, and Unicode controls and separators
    INVALID_UTF8 = "path_invalid_utf8"  # overlong forms included
    COMPATIBILITY_CHARACTER = "path_compatibility_character"  # NFKC changes it, or case makes it ASCII
    SEGMENT_EDGE = "path_segment_edge"  # a segment ending in `.`, or beginning or ending with a space or `+`
    WINDOWS_NAME = "path_windows_name"  # `~` and a digit (an 8.3 short name), `:$` (an NTFS stream)
    ILLEGAL_CHARACTER = "path_illegal_character"


REFUSED_ESCAPES = {0x2F: PathReason.ESCAPED_SLASH, 0x5C: PathReason.ESCAPED_BACKSLASH,
                   0x2E: PathReason.ESCAPED_DOT, 0x3B: PathReason.ESCAPED_SEMICOLON,
                   0x25: PathReason.ESCAPED_PERCENT, 0x3F: PathReason.ESCAPED_DELIMITER,
                   0x23: PathReason.ESCAPED_DELIMITER}


def canonical_path(target: str) -> str | PathReason:
    """The canonical path of a request target (its query ignored), or why it has none."""
    if len(target) > MAX_PATH:
        return PathReason.TOO_LONG
    path = target.partition("?")[0]
    if len(path) <= CACHED:
        return _remembered(path)
    return _canonical(path)


@functools.lru_cache(maxsize=8192)
def _remembered(path: str) -> str | PathReason:
    return _canonical(path)


def _canonical(path: str) -> str | PathReason:
    found = path if PLAIN.fullmatch(path) else _read(path)
    if isinstance(found, PathReason):  # a StrEnum is a str too: a reason is never searched as a path
        return found
    if isinstance(found, str) and WINDOWS.search(found):
        return PathReason.WINDOWS_NAME
    if isinstance(found, str) and "+" in found and EDGE_PLUS.search(found):
        return PathReason.SEGMENT_EDGE
    return found


def _read(path: str) -> str | PathReason:
    """The canonical form of any path, rule by rule (`PLAIN` paths are their own)."""
    if "#" in path:
        return PathReason.FRAGMENT
    if not path.startswith("/"):
        return PathReason.NOT_ABSOLUTE
    segments = path.split("/")[1:]
    last = len(segments) - 1
    out: list[str] = []
    for index, raw in enumerate(segments):
        # the servlet reading first: parameters cut, everything decoded (latin-1: one char per byte)
        loose = _unquote(raw)
        if ";" in loose and loose.partition(";")[0] in (".", ".."):
            return PathReason.DOT_SEGMENT_PARAMETER
        if loose in (".", ".."):
            return PathReason.DOT_SEGMENT
        if not raw and index != last:
            return PathReason.EMPTY_SEGMENT
        segment = _segment(raw)
        if isinstance(segment, PathReason):
            return segment
        if segment.endswith(".") or segment.startswith("%20") or segment.endswith("%20"):
            return PathReason.SEGMENT_EDGE
        out.append(segment)
    return "/" + "/".join(out)


def _unquote(text: str) -> str:
    """Every well-formed escape decoded, one character per byte (how a lenient reader sees it)."""
    if "%" not in text:
        return text
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _segment(raw: str) -> str | PathReason:
    """One segment with its decodable escapes decoded, or why it is refused."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c in RAW:
            out.append(c)
            i += 1
            continue
        if c == "\\":
            return PathReason.BACKSLASH
        if c < " " or c == "\x7f":
            return PathReason.CONTROL_CHARACTER
        if c == ";":
            return PathReason.PATH_PARAMETER
        if c != "%":
            return PathReason.ILLEGAL_CHARACTER
        pair = raw[i + 1:i + 3]
        if len(pair) != 2 or pair[0] not in HEX or pair[1] not in HEX:
            return PathReason.BAD_ESCAPE
        byte = int(pair, 16)
        refused = REFUSED_ESCAPES.get(byte)
        if refused is not None:
            return refused
        if byte < 0x20 or byte == 0x7F:
            return PathReason.ESCAPED_CONTROL
        if byte in DECODED:
            out.append(chr(byte))
            i += 3
            continue
        if byte < 0x80:  # a space, `"`, `<`, `>`, `[`, `]`, `^`, a backquote, `{`, `|`, `}`: kept escaped
            out.append(f"%{byte:02X}")
            i += 3
            continue
        run = bytearray()  # a run of escaped bytes >= 0x80: UTF-8, decoded strictly
        while i + 2 < n and raw[i] == "%" and raw[i + 1] in HIGH and raw[i + 2] in HEX:
            run.append(int(raw[i + 1:i + 3], 16))
            i += 3
        try:
            text = run.decode("utf-8")  # strict: overlong forms and surrogates are errors
        except UnicodeDecodeError:
            return PathReason.INVALID_UTF8
        for char in text:
            if unicodedata.category(char)[0] in "CZ":
                return PathReason.ESCAPED_CONTROL
            if unicodedata.normalize("NFKC", char) != char:
                return PathReason.COMPATIBILITY_CHARACTER
            if char in LOOKALIKES or any(c < "\x80" for c in char.upper() + char.lower() + char.casefold()):
                return PathReason.COMPATIBILITY_CHARACTER  # dotless `ı` is `I` in upper case, `ß` is `ss` folded
        out.append("".join(f"%{b:02X}" for b in run))
    return "".join(out)
