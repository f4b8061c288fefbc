"""Pydantic's errors in Russian, for the files the administration edits (SLA policy, plans): a
refusal must read in one language, with the limit it broke ("должно быть не больше 8784")."""

from typing import Any

MESSAGES = {
    "greater_than": "должно быть больше {gt}",
    "greater_than_equal": "должно быть не меньше {ge}",
    "less_than_equal": "должно быть не больше {le}",
    "less_than": "должно быть меньше {lt}",
    "extra_forbidden": "неизвестный ключ",
    "missing": "обязательный ключ отсутствует",
    "float_type": "ожидается число",
    "float_parsing": "ожидается число",
    "finite_number": "ожидается конечное число",
    "int_type": "ожидается целое число",
    "int_parsing": "ожидается целое число",
    "int_from_float": "ожидается целое число",
    "bool_type": "ожидается true или false",
    "bool_parsing": "ожидается true или false",
    "string_type": "ожидается строка",
    "string_too_short": "пустая строка",
    "list_type": "ожидается список",
    "too_short": "нужно хотя бы {min_length}",
    "dict_type": "ожидается словарь (ключ: значение)",
    "model_type": "ожидается словарь (ключ: значение)",
}


def _number(value: object) -> object:
    """8784.0 in pydantic's context reads as 8784."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def russian(error: Any, messages: dict[str, str] | None = None) -> str:
    """The text of one pydantic error (an item of ``ValidationError.errors()``): ours, raised in
    Russian by a validator, as it is; pydantic's from ``messages`` over MESSAGES."""
    if error["type"] == "value_error" and "ctx" in error:
        return str(error["ctx"]["error"])
    template = {**MESSAGES, **(messages or {})}.get(error["type"])
    if template is None:
        return str(error["msg"])
    context = {key: _number(value) for key, value in error.get("ctx", {}).items()}
    try:
        return template.format(**context)
    except KeyError:
        return str(error["msg"])
