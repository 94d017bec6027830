"""One C_Sign call per signature, through the loaded module's own function list (issue 39).

python-pkcs11 0.10 signs with C_SignInit, then C_Sign with a NULL buffer (the length query),
then C_Sign again: through p11-kit-client that is three RPC round trips to the HSM process per
signature. Here the signature lands in a buffer that is large enough for every signature of a
key this backend signs with (`MAX_SIGNATURE`), so it is C_SignInit and one C_Sign: two round
trips. The call goes through the very function list python-pkcs11 calls for that session (read
from its Session object, whose layout is checked first: `functions_of`), so it is the same
module instance, session and key handle, and the caller holds the session exclusively (a pool
slot). Only mechanisms without a parameter take this way; a failure raises
the exception python-pkcs11 would have raised for that CK_RV, so the backend maps it as before.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pkcs11.exceptions as p11e
from pkcs11 import Mechanism

CK_ULONG = ctypes.c_ulong
CKR_OK = 0
CKR_BUFFER_TOO_SMALL = 0x150
MAX_SIGNATURE = 1024  # bytes: RSA-8192; P-384 is 96, Ed25519 64
MAX_DATA = 1 << 20  # bytes handed to one C_Sign (a token's signing input is far smaller)
FAST_MECHANISMS = frozenset({Mechanism.ECDSA, Mechanism.SHA256_RSA_PKCS, Mechanism.EDDSA})


class _Mechanism(ctypes.Structure):
    _fields_ = [("mechanism", CK_ULONG), ("parameter", ctypes.c_void_p), ("parameter_len", CK_ULONG)]


_INIT = ctypes.CFUNCTYPE(CK_ULONG, CK_ULONG, ctypes.POINTER(_Mechanism), CK_ULONG)
_SIGN = ctypes.CFUNCTYPE(CK_ULONG, CK_ULONG, ctypes.c_char_p, CK_ULONG, ctypes.c_char_p, ctypes.POINTER(CK_ULONG))
_FN = ctypes.c_void_p
# CK_FUNCTION_LIST (PKCS#11 2.40, pkcs11f.h order) up to C_Sign: the version, then pointers
_BEFORE_SIGN_INIT = (
    "Initialize Finalize GetInfo GetFunctionList GetSlotList GetSlotInfo GetTokenInfo GetMechanismList "
    "GetMechanismInfo InitToken InitPIN SetPIN OpenSession CloseSession CloseAllSessions GetSessionInfo "
    "GetOperationState SetOperationState Login Logout CreateObject CopyObject DestroyObject GetObjectSize "
    "GetAttributeValue SetAttributeValue FindObjectsInit FindObjects FindObjectsFinal EncryptInit Encrypt "
    "EncryptUpdate EncryptFinal DecryptInit Decrypt DecryptUpdate DecryptFinal DigestInit Digest DigestUpdate "
    "DigestKey DigestFinal").split()


class _FunctionList(ctypes.Structure):
    _fields_ = [("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte),
                *((f"C_{name}", _FN) for name in _BEFORE_SIGN_INIT),
                ("C_SignInit", _INIT), ("C_Sign", _SIGN)]


# CK_RV -> the exception python-pkcs11 0.10 raises for it (its map_rv_to_error in _pkcs11.pxd,
# which Python cannot reach); any other CK_RV is a PKCS11Error, as there
_ERRORS: dict[int, type[p11e.PKCS11Error]] = {
    0x2: p11e.HostMemory,  # CKR_HOST_MEMORY
    0x3: p11e.SlotIDInvalid,  # CKR_SLOT_ID_INVALID
    0x5: p11e.GeneralError,  # CKR_GENERAL_ERROR
    0x6: p11e.FunctionFailed,  # CKR_FUNCTION_FAILED
    0x7: p11e.ArgumentsBad,  # CKR_ARGUMENTS_BAD
    0x8: p11e.NoEvent,  # CKR_NO_EVENT
    0x10: p11e.AttributeReadOnly,  # CKR_ATTRIBUTE_READ_ONLY
    0x11: p11e.AttributeSensitive,  # CKR_ATTRIBUTE_SENSITIVE
    0x12: p11e.AttributeTypeInvalid,  # CKR_ATTRIBUTE_TYPE_INVALID
    0x13: p11e.AttributeValueInvalid,  # CKR_ATTRIBUTE_VALUE_INVALID
    0x20: p11e.DataInvalid,  # CKR_DATA_INVALID
    0x21: p11e.DataLenRange,  # CKR_DATA_LEN_RANGE
    0x30: p11e.DeviceError,  # CKR_DEVICE_ERROR
    0x31: p11e.DeviceMemory,  # CKR_DEVICE_MEMORY
    0x32: p11e.DeviceRemoved,  # CKR_DEVICE_REMOVED
    0x40: p11e.EncryptedDataInvalid,  # CKR_ENCRYPTED_DATA_INVALID
    0x41: p11e.EncryptedDataLenRange,  # CKR_ENCRYPTED_DATA_LEN_RANGE
    0x50: p11e.FunctionCancelled,  # CKR_FUNCTION_CANCELED
    0x54: p11e.FunctionNotSupported,  # CKR_FUNCTION_NOT_SUPPORTED
    0x60: p11e.KeyHandleInvalid,  # CKR_KEY_HANDLE_INVALID
    0x62: p11e.KeySizeRange,  # CKR_KEY_SIZE_RANGE
    0x63: p11e.KeyTypeInconsistent,  # CKR_KEY_TYPE_INCONSISTENT
    0x64: p11e.KeyNotNeeded,  # CKR_KEY_NOT_NEEDED
    0x66: p11e.KeyNeeded,  # CKR_KEY_NEEDED
    0x67: p11e.KeyIndigestible,  # CKR_KEY_INDIGESTIBLE
    0x69: p11e.KeyNotWrappable,  # CKR_KEY_NOT_WRAPPABLE
    0x6A: p11e.KeyUnextractable,  # CKR_KEY_UNEXTRACTABLE
    0x70: p11e.MechanismInvalid,  # CKR_MECHANISM_INVALID
    0x71: p11e.MechanismParamInvalid,  # CKR_MECHANISM_PARAM_INVALID
    0x82: p11e.ObjectHandleInvalid,  # CKR_OBJECT_HANDLE_INVALID
    0x90: p11e.OperationActive,  # CKR_OPERATION_ACTIVE
    0x91: p11e.OperationNotInitialized,  # CKR_OPERATION_NOT_INITIALIZED
    0xA0: p11e.PinIncorrect,  # CKR_PIN_INCORRECT
    0xA1: p11e.PinInvalid,  # CKR_PIN_INVALID
    0xA2: p11e.PinLenRange,  # CKR_PIN_LEN_RANGE
    0xA3: p11e.PinExpired,  # CKR_PIN_EXPIRED
    0xA4: p11e.PinLocked,  # CKR_PIN_LOCKED
    0xB0: p11e.SessionClosed,  # CKR_SESSION_CLOSED
    0xB1: p11e.SessionCount,  # CKR_SESSION_COUNT
    0xB3: p11e.SessionHandleInvalid,  # CKR_SESSION_HANDLE_INVALID
    0xB5: p11e.SessionReadOnly,  # CKR_SESSION_READ_ONLY
    0xB6: p11e.SessionExists,  # CKR_SESSION_EXISTS
    0xB7: p11e.SessionReadOnlyExists,  # CKR_SESSION_READ_ONLY_EXISTS
    0xB8: p11e.SessionReadWriteSOExists,  # CKR_SESSION_READ_WRITE_SO_EXISTS
    0xC0: p11e.SignatureInvalid,  # CKR_SIGNATURE_INVALID
    0xC1: p11e.SignatureLenRange,  # CKR_SIGNATURE_LEN_RANGE
    0xD0: p11e.TemplateIncomplete,  # CKR_TEMPLATE_INCOMPLETE
    0xD1: p11e.TemplateInconsistent,  # CKR_TEMPLATE_INCONSISTENT
    0xE0: p11e.TokenNotPresent,  # CKR_TOKEN_NOT_PRESENT
    0xE1: p11e.TokenNotRecognised,  # CKR_TOKEN_NOT_RECOGNIZED
    0xE2: p11e.TokenWriteProtected,  # CKR_TOKEN_WRITE_PROTECTED
    0xF0: p11e.UnwrappingKeyHandleInvalid,  # CKR_UNWRAPPING_KEY_HANDLE_INVALID
    0xF1: p11e.UnwrappingKeySizeRange,  # CKR_UNWRAPPING_KEY_SIZE_RANGE
    0xF2: p11e.UnwrappingKeyTypeInconsistent,  # CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT
    0x100: p11e.UserAlreadyLoggedIn,  # CKR_USER_ALREADY_LOGGED_IN
    0x101: p11e.UserNotLoggedIn,  # CKR_USER_NOT_LOGGED_IN
    0x102: p11e.UserPinNotInitialized,  # CKR_USER_PIN_NOT_INITIALIZED
    0x104: p11e.AnotherUserAlreadyLoggedIn,  # CKR_USER_ANOTHER_ALREADY_LOGGED_IN
    0x105: p11e.UserTooManyTypes,  # CKR_USER_TOO_MANY_TYPES
    0x110: p11e.WrappedKeyInvalid,  # CKR_WRAPPED_KEY_INVALID
    0x112: p11e.WrappedKeyLenRange,  # CKR_WRAPPED_KEY_LEN_RANGE
    0x113: p11e.WrappingKeyHandleInvalid,  # CKR_WRAPPING_KEY_HANDLE_INVALID
    0x114: p11e.WrappingKeySizeRange,  # CKR_WRAPPING_KEY_SIZE_RANGE
    0x115: p11e.WrappingKeyTypeInconsistent,  # CKR_WRAPPING_KEY_TYPE_INCONSISTENT
    0x120: p11e.RandomSeedNotSupported,  # CKR_RANDOM_SEED_NOT_SUPPORTED
    0x121: p11e.RandomNoRNG,  # CKR_RANDOM_NO_RNG
    0x130: p11e.DomainParamsInvalid,  # CKR_DOMAIN_PARAMS_INVALID
    0x1B5: p11e.ExceededMaxIterations,  # CKR_EXCEEDED_MAX_ITERATIONS
    0x1B8: p11e.PinTooWeak,  # CKR_PIN_TOO_WEAK
    0x1B9: p11e.PublicKeyInvalid,  # CKR_PUBLIC_KEY_INVALID
    0x200: p11e.FunctionRejected,  # CKR_FUNCTION_REJECTED
}


def _error(rv: int) -> p11e.PKCS11Error:
    """The python-pkcs11 exception for a CK_RV."""
    cls = _ERRORS.get(rv)
    return cls() if cls is not None else p11e.PKCS11Error(f"CK_RV 0x{rv:x}")


_HEAD = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)  # PyObject_HEAD
_POINTER = ctypes.sizeof(ctypes.c_void_p)
# python-pkcs11 0.10's Session (Cython): its HasFuncList base (funclist, funclist30, funclist32),
# then its vtable pointer, then `handle`, which Python can read: the check that the layout holds
_FUNCLIST_AT = _HEAD
_HANDLE_AT = _HEAD + 4 * _POINTER


def functions_of(session: Any) -> _FunctionList | None:
    """The CK_FUNCTION_LIST python-pkcs11 calls for `session` (a live object the caller keeps), or
    None unless the layout is the one above: the session handle must sit where it says and the
    list must say PKCS#11 2.x or 3.x. None means: sign through python-pkcs11 as before."""
    if type(session).__module__ != "pkcs11._pkcs11" or type(session).__name__ != "Session":
        return None
    if type(session).__basicsize__ < _HANDLE_AT + ctypes.sizeof(CK_ULONG):
        return None
    base = id(session)
    if CK_ULONG.from_address(base + _HANDLE_AT).value != int(session.handle):
        return None
    pointer = ctypes.c_void_p.from_address(base + _FUNCLIST_AT).value
    if not pointer:
        return None
    functions = _FunctionList.from_address(pointer)
    if functions.major not in (2, 3) or not functions.C_SignInit or not functions.C_Sign:
        return None
    return functions


_Buffer = ctypes.c_char * MAX_SIGNATURE  # a signature's output buffer (zeroed when made)


def sign(functions: _FunctionList, session: Any, key: Any, mechanism: Mechanism, data: bytes) -> bytes:
    """The signature of `data` by `key` in `session` (python-pkcs11 objects; `functions` from
    `functions_of(session)`): C_SignInit and one C_Sign into a buffer of MAX_SIGNATURE bytes.
    The caller holds the session exclusively."""
    if mechanism not in FAST_MECHANISMS:
        raise ValueError(f"{mechanism.name} takes a parameter: sign it through python-pkcs11")
    if len(data) > MAX_DATA:
        raise p11e.DataLenRange(f"{len(data)} bytes to sign; at most {MAX_DATA}")
    handle = int(session.handle)
    mech = _Mechanism(int(mechanism), None, 0)
    rv = functions.C_SignInit(handle, ctypes.byref(mech), int(key.handle))
    if rv != CKR_OK:
        raise _error(rv)
    out = _Buffer()  # create_string_buffer's work without its Python frame
    length = CK_ULONG(MAX_SIGNATURE)
    rv = functions.C_Sign(handle, data, len(data), out, ctypes.byref(length))
    if rv == CKR_BUFFER_TOO_SMALL:  # the operation is still active: finish it with the size asked
        if length.value > 64 * MAX_SIGNATURE:
            functions.C_Sign(handle, data, len(data), None, ctypes.byref(length))
            raise p11e.SignatureLenRange(f"a {length.value}-byte signature")
        out = ctypes.create_string_buffer(length.value)
        rv = functions.C_Sign(handle, data, len(data), out, ctypes.byref(length))
    if rv != CKR_OK:
        raise _error(rv)
    if length.value > len(out):
        raise p11e.SignatureLenRange(f"the module says {length.value} bytes in a {len(out)}-byte buffer")
    return out.raw[:length.value]
