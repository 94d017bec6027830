"""Property tests: mutate valid tokens; never an exception, never a mutated token accepted."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signward.verify import Reason
from tests.verify.conftest import World

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_byte_mutations_never_accepted(world: World, data: st.DataObject) -> None:
    token = world.enterprise.token(world.claims())
    validator = world.validator()
    assert validator.verify(token).valid
    raw = bytearray(token.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "swap"]))
        i = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[i] = data.draw(st.integers(0, 255).filter(lambda b, old=raw[i]: b != old))
        elif kind == "insert":
            raw.insert(i, data.draw(st.integers(0, 255)))
        elif kind == "delete" and len(raw) > 1:
            del raw[i]
        else:
            j = data.draw(st.integers(0, len(raw) - 1))
            raw[i], raw[j] = raw[j], raw[i]
    mutated = bytes(raw)
    verdict = validator.verify(mutated)
    if mutated != token.encode():
        assert not verdict.valid and isinstance(verdict.reason, Reason)
    assert verdict.reason is not Reason.INTERNAL_ERROR and validator.internal_errors == 0


@SETTINGS
@given(claims=st.dictionaries(st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "sub", "tid", "x"]),
                              st.one_of(st.none(), st.booleans(), st.integers(),
                                        st.integers(min_value=10**300, max_value=10**500),
                                        st.integers(max_value=-1), st.floats(allow_nan=True),
                                        st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))))
def test_arbitrary_claims_signed_by_a_trusted_key_never_raise(world: World, claims: dict[str, object]) -> None:
    validator = world.validator()
    verdict = validator.verify(world.enterprise.token(claims))
    assert verdict.reason is not Reason.INTERNAL_ERROR and validator.internal_errors == 0, verdict
    if verdict.valid:  # only well-formed, in-time, right-audience claims may pass
        assert claims.get("aud") in ("mail",) or "mail" in (claims.get("aud") or [])  # type: ignore[operator]


@SETTINGS
@given(blob=st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_garbage_never_raises(world: World, blob: bytes | str) -> None:
    validator = world.validator()
    verdict = validator.verify(blob)
    assert not verdict.valid and verdict.reason is not None
    assert verdict.reason is not Reason.INTERNAL_ERROR and validator.internal_errors == 0


def test_exp_beyond_any_float_is_malformed_not_an_internal_error(world: World) -> None:
    """Regression: exp = 10**400 raised OverflowError inside the NumericDate check."""
    validator = world.validator()
    for name in ("exp", "iat", "nbf"):
        verdict = validator.verify(world.enterprise.token({**world.claims(), name: 10**400}))
        assert verdict.reason is Reason.MALFORMED, (name, verdict)
    assert validator.internal_errors == 0
