"""The Envoy ext_authz v3 messages the guard reads and writes, built from a descriptor at import.

Only the fields the guard uses are declared, with Envoy's names and field numbers
(`envoy/service/auth/v3/external_auth.proto`, `attribute_context.proto`,
`envoy/config/core/v3/base.proto`, `google/rpc/status.proto`): protobuf skips the fields it
does not know, so the wire format is Envoy's and no generated code (with its protobuf runtime
pin) is checked in. The messages live in a private descriptor pool.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
STRING, INT32, INT64, BOOL, MESSAGE = F.TYPE_STRING, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_BOOL, F.TYPE_MESSAGE
OPTIONAL, REPEATED = F.LABEL_OPTIONAL, F.LABEL_REPEATED
SERVICE = "envoy.service.auth.v3.Authorization"

# message name -> [(field, number, type, label, message type)]. Envoy's map<string, string> fields
# are declared as repeated StringEntry: the same bytes on the wire (a map is repeated key/value
# entries), read without map semantics, so a duplicated key is seen, not silently merged.
Fields = list[tuple[str, int, int, int, str]]
_MESSAGES: dict[str, Fields] = {
    "envoy.service.auth.v3.CheckRequest": [
        ("attributes", 1, MESSAGE, OPTIONAL, ".envoy.service.auth.v3.AttributeContext")],
    "envoy.service.auth.v3.AttributeContext": [
        ("request", 4, MESSAGE, OPTIONAL, ".envoy.service.auth.v3.AttributeContext.Request"),
        ("context_extensions", 10, MESSAGE, REPEATED, ".envoy.service.auth.v3.StringEntry")],
    "envoy.service.auth.v3.AttributeContext.Request": [
        ("http", 2, MESSAGE, OPTIONAL, ".envoy.service.auth.v3.AttributeContext.HttpRequest")],
    "envoy.service.auth.v3.AttributeContext.HttpRequest": [
        ("id", 1, STRING, OPTIONAL, ""), ("method", 2, STRING, OPTIONAL, ""),
        ("headers", 3, MESSAGE, REPEATED, ".envoy.service.auth.v3.StringEntry"),
        ("path", 4, STRING, OPTIONAL, ""), ("host", 5, STRING, OPTIONAL, ""),
        ("scheme", 6, STRING, OPTIONAL, ""), ("protocol", 10, STRING, OPTIONAL, ""),
        ("header_map", 13, MESSAGE, OPTIONAL, ".envoy.config.core.v3.HeaderMap")],
    "envoy.service.auth.v3.StringEntry": [("key", 1, STRING, OPTIONAL, ""), ("value", 2, STRING, OPTIONAL, "")],
    "envoy.config.core.v3.HeaderMap": [
        ("headers", 1, MESSAGE, REPEATED, ".envoy.config.core.v3.HeaderValue")],
    "envoy.config.core.v3.HeaderValue": [
        ("key", 1, STRING, OPTIONAL, ""), ("value", 2, STRING, OPTIONAL, ""),
        ("raw_value", 3, F.TYPE_BYTES, OPTIONAL, "")],
    "envoy.config.core.v3.HeaderValueOption": [
        ("header", 1, MESSAGE, OPTIONAL, ".envoy.config.core.v3.HeaderValue"),
        ("append_action", 3, INT32, OPTIONAL, "")],  # an enum on the wire: a varint
    "envoy.type.v3.HttpStatus": [("code", 1, INT32, OPTIONAL, "")],
    "google.rpc.Status": [("code", 1, INT32, OPTIONAL, ""), ("message", 2, STRING, OPTIONAL, "")],
    "envoy.service.auth.v3.DeniedHttpResponse": [
        ("status", 1, MESSAGE, OPTIONAL, ".envoy.type.v3.HttpStatus"),
        ("headers", 2, MESSAGE, REPEATED, ".envoy.config.core.v3.HeaderValueOption"),
        ("body", 3, STRING, OPTIONAL, "")],
    "envoy.service.auth.v3.OkHttpResponse": [
        ("headers", 2, MESSAGE, REPEATED, ".envoy.config.core.v3.HeaderValueOption"),
        ("headers_to_remove", 5, STRING, REPEATED, "")],
    "envoy.service.auth.v3.CheckResponse": [
        ("status", 1, MESSAGE, OPTIONAL, ".google.rpc.Status"),
        ("denied_response", 2, MESSAGE, OPTIONAL, ".envoy.service.auth.v3.DeniedHttpResponse"),
        ("ok_response", 3, MESSAGE, OPTIONAL, ".envoy.service.auth.v3.OkHttpResponse")],
}
OVERWRITE_IF_EXISTS_OR_ADD = 2  # HeaderValueOption.HeaderAppendAction
GRPC_OK, GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED = 0, 7, 16


def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    by_package: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for full_name, fields in _MESSAGES.items():
        parts = full_name.split(".")
        nested = "AttributeContext" in parts[:-1]  # AttributeContext.Request and .HttpRequest
        package = ".".join(parts[:-2] if nested else parts[:-1])
        file = by_package.setdefault(package, descriptor_pb2.FileDescriptorProto(
            name=f"signward_guard/{package.replace('.', '/')}.proto", package=package, syntax="proto3"))
        if nested:
            parent = next(m for m in file.message_type if m.name == parts[-2])
            message = parent.nested_type.add(name=parts[-1])
        else:
            message = file.message_type.add(name=parts[-1])
        for name, number, kind, label, type_name in fields:
            field = message.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name
    order = ["google.rpc", "envoy.type.v3", "envoy.config.core.v3", "envoy.service.auth.v3"]
    for package in order:
        file = by_package[package]
        file.dependency.extend(by_package[p].name for p in order[:order.index(package)])
        pool.Add(file)
    return pool


_POOL = _pool()


def message(name: str) -> Any:
    """The message class for a full name, e.g. `envoy.service.auth.v3.CheckRequest`."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(name))


CheckRequest = message("envoy.service.auth.v3.CheckRequest")
CheckResponse = message("envoy.service.auth.v3.CheckResponse")
