"""The independent reader's per-view passes on small views (session 14): the EC / Ed25519 window
checks of a view derived in one call, CPython int layouts tried only where their count word and
digits fit. Each case is a small view built here with a key in one layout at every position and
length around the bounds; the findings must be those of the one-window-at-a-time cryptography
path (SIGNWARD_SCAN_REFERENCE=1) and sit at the key's exact span."""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan.compiled import AVAILABLE, REFERENCE_ENV
from signward.scan.knownkeys import KnownKeys, known_key
from signward.scan.recheck import Budget, RecheckReport, _curve_publics, _ed25519_publics, _scalar_like, recheck_bytes
from signward.scan.recheck_layouts import as_digits
from tests.scan.material import NUMBERS, RSA


def _scalar_key() -> ec.EllipticCurvePrivateKey:
    """A P-256 key whose scalar looks random to the window filter in both byte orders."""
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        if _scalar_like(scalar, 32) and _scalar_like(scalar[::-1], 32) and scalar[0] and scalar[-1]:
            return key


def _seed_key() -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    while True:
        seed = os.urandom(32)
        if _scalar_like(seed, 32):
            return ed25519.Ed25519PrivateKey.from_private_bytes(seed), seed


EC_KEY = _scalar_key()
ED_KEY, SEED = _seed_key()
SCALAR = EC_KEY.private_numbers().private_value
KNOWN = KnownKeys([k for k in (known_key(EC_KEY.public_key(), "ec-kid"), known_key(ED_KEY.public_key(), "ed-kid"),
                               known_key(RSA.public_key(), "rsa-kid")) if k is not None])
FORMS = {"ec-big": (SCALAR.to_bytes(32, "big"), "EC scalar of known kid ec-kid"),
         "ec-little": (SCALAR.to_bytes(32, "little"), "EC scalar of known kid ec-kid"),
         "ed25519": (SEED, "Ed25519 seed of known kid ed-kid")}
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's group order


@contextmanager
def _reference() -> Iterator[None]:
    """The cryptography path, one window at a time (the compiled filters switched off)."""
    before = os.environ.get(REFERENCE_ENV)
    os.environ[REFERENCE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[REFERENCE_ENV]
        else:
            os.environ[REFERENCE_ENV] = before


def _known_key_findings(report: RecheckReport) -> list[tuple[str, str, str, tuple[int, int] | None]]:
    return [(f.kind, f.view, f.key, f.span) for f in report.findings if f.kind == "known-key"]


def _both_paths(data: bytes, budget: Budget | None = None) -> RecheckReport:
    """The reader's report on `data`, asserted equal (findings, incomplete) on both paths."""
    report = recheck_bytes(data, KNOWN, "view", budget)
    with _reference():
        reference = recheck_bytes(data, KNOWN, "view", Budget() if budget is None else Budget(
            max_curve_checks=budget.max_curve_checks))
    assert _known_key_findings(report) == _known_key_findings(reference)
    assert report.incomplete == reference.incomplete
    return report


def _filler(size: int, seed: int) -> bytes:
    """Bytes that look random to the window filter but hold no key (a hash stream)."""
    import hashlib

    return hashlib.shake_256(b"filler %d" % seed).digest(size)


@settings(max_examples=60, deadline=None)
@given(form=st.sampled_from(sorted(FORMS)), before=st.integers(0, 12), after=st.integers(0, 12),
       cut=st.integers(0, 2), seed=st.integers(0, 1000))
def test_a_scalar_or_seed_in_a_small_view_is_found_at_its_span_on_both_paths(
        form: str, before: int, after: int, cut: int, seed: int) -> None:
    key, label = FORMS[form]
    filler = _filler(before + after, seed)
    if cut:  # the key's last bytes missing: no window holds it (the view may be shorter than one)
        data = filler[:before] + key[:32 - cut]
        expected = []
    else:
        data = filler[:before] + key + filler[before:]
        expected = [("known-key", "view", label, (before, before + 32))]
    report = _both_paths(data)
    assert [f for f in _known_key_findings(report) if "as a Python int" not in f[2]] == expected


@settings(max_examples=30, deadline=None)
@given(form=st.sampled_from(sorted(FORMS)), before=st.integers(0, 9), after=st.integers(0, 9),
       seed=st.integers(0, 1000))
def test_a_scalar_or_seed_base64d_into_a_tiny_child_view_is_found(form: str, before: int, after: int,
                                                                   seed: int) -> None:
    key, label = FORMS[form]
    filler = _filler(before + after, seed)
    run = base64.b64encode(filler[:before] + key + filler[before:])
    text = b"id=" + run + b";\n"
    report = _both_paths(text)
    assert ("known-key", "view > base64", label, (3, 3 + len(run))) in _known_key_findings(report)


def _pylong(value: int, digit_bits: int, lv_tag: bool) -> bytes:
    """A CPython int's count word (3.11 ob_size, 3.12 lv_tag) and digits."""
    digits = as_digits(value, digit_bits)
    count = len(digits) // (4 if digit_bits == 30 else 2)
    return struct.pack("<q", count << 3 if lv_tag else count) + digits


INTS = {"ec-scalar": (SCALAR, "EC scalar of known kid ec-kid as a Python int"),
        "rsa-prime": (NUMBERS.p, "RSA prime of known kid rsa-kid as a Python int"),
        "rsa-d": (NUMBERS.d, "RSA d of known kid rsa-kid as a Python int")}


@settings(max_examples=60, deadline=None)
@given(what=st.sampled_from(sorted(INTS)), digit_bits=st.sampled_from([30, 15]), lv_tag=st.booleans(),
       before=st.integers(0, 3), after=st.integers(0, 3), cut=st.integers(0, 2), seed=st.integers(0, 1000))
def test_a_python_int_filling_a_view_exactly_or_nearly_is_found(what: str, digit_bits: int, lv_tag: bool,
                                                               before: int, after: int, cut: int, seed: int) -> None:
    value, label = INTS[what]
    obj = _pylong(value, digit_bits, lv_tag)
    filler = bytes(b | 0x80 for b in _filler(before + after, seed))  # no count word, no digit run
    data = filler[:before] + obj[:len(obj) - cut] + (b"" if cut else filler[before:])
    found = {(f[2], f[3]) for f in _known_key_findings(_both_paths(data)) if f[2].endswith("as a Python int")}
    if cut:
        assert not found
    else:
        assert (label, (before + 8, before + len(obj))) in found


def test_the_scalar_check_budget_ends_the_view_incomplete_after_the_last_window_it_allows() -> None:
    data = _filler(48, 7) + FORMS["ec-big"][0]  # the key in the view's last window
    windows = sum(_scalar_like(data[at:at + 32], 32) for at in range(len(data) - 31))
    assert windows > 10
    short = _both_paths(data, Budget(max_curve_checks=windows - 1))
    assert not [f for f in _known_key_findings(short) if f[2].startswith("EC scalar")]
    assert short.incomplete == [f"budget exhausted: more than {windows - 1} scalar checks"]
    enough = _both_paths(data, Budget(max_curve_checks=windows))
    assert not enough.incomplete
    assert ("known-key", "view", FORMS["ec-big"][1], (48, 80)) in _known_key_findings(enough)
    first = _both_paths(FORMS["ec-big"][0] + _filler(48, 7), Budget(max_curve_checks=1))
    assert ("known-key", "view", FORMS["ec-big"][1], (0, 32)) in _known_key_findings(first)
    assert not first.incomplete  # found in the one window allowed: the search ends there


def test_the_batch_derivations_agree_with_cryptography_on_edge_scalars() -> None:
    curve = ec.SECP256R1()
    scalars = [value.to_bytes(32, "big") for value in (0, 1, 2, ORDER - 1, ORDER, ORDER + 1, (1 << 256) - 1, SCALAR)]
    seeds = [bytes(32), b"\xff" * 32, SEED, _filler(32, 1)]
    compiled = _curve_publics(curve, scalars), _ed25519_publics(seeds)
    with _reference():
        reference = _curve_publics(curve, scalars), _ed25519_publics(seeds)
    assert compiled == reference
    assert [bool(p) for p in compiled[0]] == [False, True, True, True, False, False, False, True]
    numbers = EC_KEY.public_key().public_numbers()
    assert compiled[0][-1] == numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    assert AVAILABLE or compiled == reference  # (without the extension both are the reference)


def _find_all(data: bytes, word: int) -> list[int]:
    header, out = word.to_bytes(8, "little"), []
    at = data.find(header)
    while at >= 0:
        out.append(at)
        at = data.find(header, at + 1)
    return out


@settings(max_examples=80, deadline=None)
@given(size=st.integers(0, 300), block=st.integers(1, 40), places=st.lists(st.tuples(st.integers(0, 299),
       st.sampled_from([8, 9, 69, 72, 552, 1104, 0x10000, 1 << 40])), max_size=12), noise=st.integers(0, 1000))
def test_count_words_gathered_in_one_pass_are_where_find_finds_them(size: int, block: int,
                                                                      places: list[tuple[int, int]],
                                                                      noise: int) -> None:
    from signward.scan.recheck_layouts import word_offsets

    data = bytearray(_filler(size, noise))
    data[noise % (size + 1):noise % (size + 1) + 40] = bytes(40)  # zeros, and words inside and around them
    for at, word in places:
        data[at:at + 8] = word.to_bytes(8, "little")
    data = data[:size]
    words = {8, 9, 69, 72, 552, 1104, 0x10000, 1 << 40}
    assert word_offsets(bytes(data), words, block) == {word: _find_all(bytes(data), word) for word in words}


def test_a_python_int_in_a_view_over_a_mib_is_found_at_any_offset_and_at_its_end() -> None:
    from signward.scan.recheck_layouts import WORDS_FROM

    obj = _pylong(SCALAR, 30, False)
    image = bytearray(WORDS_FROM + 4099)
    image[(1 << 19) + 3:(1 << 19) + 3 + len(obj)] = obj  # not 8-byte aligned
    image[len(image) - len(obj):] = obj  # its last digit the view's last byte
    report = recheck_bytes(bytes(image), KNOWN, "view")
    spans = {f.span for f in report.findings if f.key == INTS["ec-scalar"][1]}
    assert spans == {((1 << 19) + 11, (1 << 19) + 3 + len(obj)), (len(image) - len(obj) + 8, len(image))}


def test_each_known_key_of_a_curve_is_compared_with_the_views_derived_points() -> None:
    first, second = EC_KEY, _scalar_key()
    p384 = ec.generate_private_key(ec.SECP384R1())
    keys = KnownKeys([k for k in (known_key(first.public_key(), "first"), known_key(second.public_key(), "second"),
                                  known_key(p384.public_key(), "p384")) if k is not None])
    for key, kid, order in ((second, "second", "little"), (p384, "p384", "big"), (first, "first", "big")):
        width = (key.curve.key_size + 7) // 8
        data = _filler(7, 3) + key.private_numbers().private_value.to_bytes(width, order) + _filler(9, 4)
        report = recheck_bytes(data, keys, "view")
        with _reference():
            reference = recheck_bytes(data, keys, "view")
        assert _known_key_findings(report) == _known_key_findings(reference)
        assert ("known-key", "view", f"EC scalar of known kid {kid}", (7, 7 + width)) in _known_key_findings(report)
