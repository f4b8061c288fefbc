"""VK's published API contract (tools/vk_api_schema/, VK API 5.199) as checks of calls.

``check_call`` reads a request as VK receives it: every value travels as form text, so a value is
first turned into the text vk-api would send (``True`` becomes ``"True"``, which VK does not read
as a boolean: its booleans are ``0`` and ``1``) and then read back as the parameter's type.
``check_response`` validates a method's response against its response schema with jsonschema.

VK's schema declares draft-07 but marks required properties draft-03 style, with
``"required": true`` inside the property's own schema; the validator here reads them that way.
"""

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMA_DIR = Path(__file__).with_name("vk_api_schema")
# Any absolute base works: it only lets the files' relative $refs ("../wall/objects.json#/...")
# resolve to one another.
_BASE = "https://vk-api-schema.local/"
# Parameters of the transport, not of a method: vk-api adds v and access_token to every call and
# captcha_sid/captcha_key to one repeated after a captcha; VK documents lang and test_mode for all.
TRANSPORT_PARAMS = frozenset(
    {"access_token", "v", "lang", "test_mode", "captcha_sid", "captcha_key", "https"}
)
# Where the schema is known to be wrong. wall.get lost owner_id in commit 81bd2be of
# vk-api-schema (present in ff08ec8 and before) although VK still documents and accepts it
# (https://dev.vk.com/method/wall.get); without it every wall.get of a community would fail.
# execute is described with no parameter at all; VK documents code and func_v
# (https://dev.vk.com/method/execute).
_MISSING_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "wall.get": [{"name": "owner_id", "type": "integer", "format": "int64"}],
    "execute": [
        {"name": "code", "type": "string", "required": True},
        {"name": "func_v", "type": "integer", "minimum": 1},
    ],
}
# execute returns whatever its code returns ("Response schema is not defined yet"): the schema
# of each API call inside it is what can be checked, and the fake checks those one by one.
_UNDEFINED_RESPONSES = frozenset({"execute"})
_INTEGER = re.compile(r"-?\d+")
_BOOLEAN = frozenset({"0", "1"})


def _properties(
    validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name in instance:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)
        elif isinstance(subschema, dict) and subschema.get("required") is True:
            yield ValidationError(f"{name!r} is a required property")


def _required(
    validator: Any, required: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    # A boolean here is the draft-03 flag, read by _properties on the enclosing object.
    if not isinstance(required, list) or not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property")


VkValidator = validators.extend(Draft7Validator, {"properties": _properties, "required": _required})


@cache
def _registry() -> Registry[Any]:
    resources = [
        (_BASE + path.relative_to(SCHEMA_DIR).as_posix(), _resource(path))
        for path in sorted(SCHEMA_DIR.rglob("*.json"))
    ]
    return Registry().with_resources(resources)


def _resource(path: Path) -> Resource[Any]:
    return DRAFT7.create_resource(json.loads(path.read_text(encoding="utf-8")))


@cache
def _methods() -> dict[str, tuple[str, dict[str, Any]]]:
    """Method name -> (URI of its methods.json, its description)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(SCHEMA_DIR.glob("*/methods.json")):
        uri = _BASE + path.relative_to(SCHEMA_DIR).as_posix()
        for method in json.loads(path.read_text(encoding="utf-8"))["methods"]:
            found[method["name"]] = (uri, method)
    return found


def _validator(base_uri: str, schema: Mapping[str, Any]) -> Any:
    # Draft 7 ignores $id beside a $ref, so the schema is wrapped to resolve from its own file.
    return VkValidator({"$id": base_uri, "allOf": [dict(schema)]}, registry=_registry())


def _parameters(method: str) -> dict[str, dict[str, Any]]:
    _, description = _methods()[method]
    declared = description.get("parameters", []) + _MISSING_PARAMETERS.get(method, [])
    return {param["name"]: param for param in declared}


def check_call(method: str, params: Mapping[str, object]) -> list[str]:
    """The ways this request breaks VK's schema; empty when VK would accept its form."""
    if method not in _methods():
        return [f"{method}: no such method in VK's schema"]
    uri, _ = _methods()[method]
    declared = _parameters(method)
    problems = [
        f"{method}: required parameter {name} is missing"
        for name, param in declared.items()
        if param.get("required") and name not in params
    ]
    for name, value in params.items():
        if name in TRANSPORT_PARAMS:
            continue
        param = declared.get(name)
        if param is None:
            problems.append(f"{method}: VK's schema has no parameter {name}")
            continue
        problems.extend(f"{method}: parameter {name}: {p}" for p in _check_value(uri, param, value))
    return problems


def _wire(value: object) -> str:
    """The text a value travels as: what vk-api hands to requests, form-encoded."""
    if isinstance(value, list | tuple):
        return ",".join(_wire(item) for item in value)
    return str(value)


def _check_value(uri: str, param: Mapping[str, Any], value: object) -> list[str]:
    wire = _wire(value)
    types = param["type"] if isinstance(param["type"], list) else [param["type"]]
    if "array" in types:
        items = param.get("items", {})
        item_types = items.get("type", "string")
        values = [_read(part, item_types) for part in wire.split(",")] if wire else []
        if any(v is _UNREADABLE for v in values):
            return [f"{wire!r} is not a list of {item_types}"]
        return _schema_errors(uri, {**_constraints(param), "type": "array"}, values)
    typed = _read(wire, types)
    if typed is _UNREADABLE:
        hint = " (VK's booleans are 0 or 1)" if "boolean" in types else ""
        return [f"{wire!r} is not {' or '.join(types)}{hint}"]
    return _schema_errors(uri, _constraints(param), typed)


_UNREADABLE = object()


def _read(wire: str, types: str | list[str]) -> object:
    """The form text read as the first of the types it can be, as VK reads it."""
    for type_ in [types] if isinstance(types, str) else types:
        if type_ == "integer" and _INTEGER.fullmatch(wire):
            return int(wire)
        if type_ == "boolean" and wire in _BOOLEAN:
            return wire == "1"
        if type_ == "number":
            try:
                return float(wire)
            except ValueError:
                continue
        if type_ == "string":
            return wire
    return _UNREADABLE


def _constraints(param: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter's description as a JSON schema of its value (no name, no requiredness)."""
    return {k: v for k, v in param.items() if k not in {"name", "description", "required"}}


def _schema_errors(uri: str, schema: Mapping[str, Any], instance: object) -> list[str]:
    return [_describe(error) for error in _validator(uri, schema).iter_errors(instance)]


def _describe(error: ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else str(error.message)


def check_response(method: str, response: object) -> list[str]:
    """The ways ``response`` (the value of VK's ``"response"`` key) breaks the method's response
    schema. A method with several response shapes (extended, user ids) passes if any fits."""
    if method not in _methods():
        return [f"{method}: no such method in VK's schema"]
    if method in _UNDEFINED_RESPONSES:
        return []
    uri, description = _methods()[method]
    shapes = list(description.get("responses", {}).values())
    attempts = [_schema_errors(uri, shape, {"response": response}) for shape in shapes]
    if not attempts or any(not errors for errors in attempts):
        return []
    closest = min(attempts, key=len)
    # Paths start at "response": the schema describes VK's whole {"response": ...} reply.
    return [f"{method}: {problem}" for problem in closest]
