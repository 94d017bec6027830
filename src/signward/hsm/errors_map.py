"""The one place PKCS#11 errors become signward errors (`raise ... from exc`).

Every exception class python-pkcs11 defines is listed here; a test checks none is missing,
so a new failure mode cannot slip through as a raw PKCS11Error.
"""

from __future__ import annotations

import pkcs11.exceptions as p11e

from ..errors import AlgorithmUnsupported, HsmError, HsmUnavailable, KeyNotFound

# The HSM (or the p11-kit server in front of it) is gone or broken: reconnect, then fail closed.
UNAVAILABLE = (
    p11e.DeviceError, p11e.DeviceMemory, p11e.DeviceRemoved, p11e.GeneralError,
    p11e.SessionClosed, p11e.SessionHandleInvalid, p11e.SessionCount, p11e.TokenNotPresent,
    p11e.TokenNotRecognised, p11e.HostMemory, p11e.FunctionFailed, p11e.UserNotLoggedIn,
    p11e.NoSuchToken, p11e.SlotIDInvalid, p11e.FunctionCancelled,
)
NOT_FOUND = (p11e.NoSuchKey, p11e.KeyHandleInvalid, p11e.ObjectHandleInvalid, p11e.MultipleObjectsReturned)
UNSUPPORTED = (
    p11e.MechanismInvalid, p11e.MechanismParamInvalid, p11e.FunctionNotSupported,
    p11e.KeyTypeInconsistent, p11e.KeySizeRange, p11e.DomainParamsInvalid, p11e.TemplateIncomplete,
    p11e.TemplateInconsistent, p11e.AttributeTypeInvalid, p11e.AttributeValueInvalid,
)
LOGIN = (
    p11e.PinIncorrect, p11e.PinInvalid, p11e.PinExpired, p11e.PinLocked, p11e.PinLenRange,
    p11e.PinTooWeak, p11e.UserPinNotInitialized, p11e.UserAlreadyLoggedIn,
    p11e.AnotherUserAlreadyLoggedIn, p11e.UserTooManyTypes,
)
# Failures of one operation that say nothing about reachability.
OPERATION = (
    p11e.AttributeReadOnly, p11e.AttributeSensitive, p11e.ArgumentsBad, p11e.DataInvalid,
    p11e.DataLenRange, p11e.EncryptedDataInvalid, p11e.EncryptedDataLenRange,
    p11e.ExceededMaxIterations, p11e.FunctionRejected, p11e.KeyIndigestible, p11e.KeyNeeded,
    p11e.KeyNotNeeded, p11e.KeyNotWrappable, p11e.KeyUnextractable, p11e.MultipleTokensReturned,
    p11e.NoEvent, p11e.OperationActive, p11e.OperationNotInitialized, p11e.PublicKeyInvalid,
    p11e.RandomNoRNG, p11e.RandomSeedNotSupported, p11e.SessionExists, p11e.SessionReadOnly,
    p11e.SessionReadOnlyExists, p11e.SessionReadWriteSOExists, p11e.SignatureInvalid,
    p11e.SignatureLenRange, p11e.TokenWriteProtected, p11e.UnwrappingKeyHandleInvalid,
    p11e.UnwrappingKeySizeRange, p11e.UnwrappingKeyTypeInconsistent, p11e.WrappedKeyInvalid,
    p11e.WrappedKeyLenRange, p11e.WrappingKeyHandleInvalid, p11e.WrappingKeySizeRange,
    p11e.WrappingKeyTypeInconsistent,
    p11e.PKCS11Error,
)


def map_error(exc: BaseException, doing: str) -> HsmError:
    """The signward error for a PKCS#11 failure while `doing` something."""
    name = type(exc).__name__
    detail = f"{doing}: {name}{': ' + str(exc) if str(exc) else ''}"
    if isinstance(exc, UNAVAILABLE) or isinstance(exc, OSError):
        return HsmUnavailable(f"HSM unavailable while {detail}")
    if isinstance(exc, NOT_FOUND):
        return KeyNotFound(f"key not found in the HSM while {detail}")
    if isinstance(exc, UNSUPPORTED):
        return AlgorithmUnsupported(f"the PKCS#11 module refused while {detail}")
    if isinstance(exc, LOGIN):
        return HsmUnavailable(f"HSM login refused while {detail} (check the PIN)")
    return HsmError(f"HSM error while {detail}")


def mapped_classes() -> set[type[BaseException]]:
    return set(UNAVAILABLE + NOT_FOUND + UNSUPPORTED + LOGIN + OPERATION)
