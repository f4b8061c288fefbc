"""Parsing the YAML of a file someone edits (SLA policy, plans, sources, reply templates, LDAP
groups, secrets), pure: bounded in size, in nesting and in what its aliases expand to, and every
refusal a Russian sentence naming the file and the limit — never a traceback, never a hang. A
"billion laughs" of aliases loads in microseconds as shared references; it is everything that
walks the result afterwards (validation, error messages, a traceback printing the chained
validation error) that hangs, so the expansion is counted on the node graph before anything is
built from it. Reading the file: kernel/yaml_files.py.
"""

import yaml

MAX_BYTES = 1024 * 1024
# Nodes after expanding every alias: the largest sources file we know of has a few thousand.
MAX_NODES = 200_000
MAX_DEPTH = 64
# libyaml where the wheel has it: the pure-Python parser takes time quadratic in the nesting of
# [ and { (a megabyte of "[" would not finish), libyaml refuses nesting beyond 1,000 levels.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigFileError(ValueError):
    """A file otklik is configured with cannot be used; the message (Russian) says which and why."""


def compose(text: str, what: str) -> tuple[yaml.Node | None, object]:
    """The document's node graph (for line numbers) and its value, within the limits."""
    if len(text) > MAX_BYTES:
        raise ConfigFileError(f"{what}: больше {MAX_BYTES // 1024} КиБ")
    try:
        loader = _LOADER(text)
    except UnicodeEncodeError as error:  # an unpaired surrogate: no file holds one
        raise ConfigFileError(f"{what}: не YAML ({error})") from error
    try:
        node = loader.get_single_node()
        if node is not None:
            _measure(node, what, 1, {})
        return node, (loader.construct_document(node) if node is not None else None)
    except ConfigFileError:
        raise
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        # ValueError: a number of over 4,300 digits; RecursionError: nesting, without libyaml
        raise ConfigFileError(f"{what}: не YAML ({error})") from error
    finally:
        loader.dispose()


def parse(text: str, what: str) -> object:
    return compose(text, what)[1]


def _measure(node: yaml.Node, what: str, depth: int, seen: dict[int, tuple[int, int]]) -> None:
    """Refuses a document whose aliases expand beyond MAX_NODES values or MAX_DEPTH levels. A
    node an alias repeats is counted at every use but walked once (``seen``: its size and
    height), so a bomb is refused in time linear in the file; an alias to its own ancestor
    (a cycle) is refused by its depth."""
    if id(node) not in seen:
        if depth > MAX_DEPTH:
            raise _too_deep(node, what)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        size, height = 1, 1
        for child in children:
            _measure(child, what, depth + 1, seen)
            size += seen[id(child)][0]
            height = max(height, 1 + seen[id(child)][1])
            if size > MAX_NODES:
                raise ConfigFileError(
                    f"{what}: ссылки YAML (*имя) разворачиваются больше чем в {MAX_NODES} "
                    f"значений (строка {node.start_mark.line + 1})"
                )
        seen[id(node)] = (size, height)
    if depth + seen[id(node)][1] - 1 > MAX_DEPTH:
        raise _too_deep(node, what)


def _too_deep(node: yaml.Node, what: str) -> ConfigFileError:
    return ConfigFileError(
        f"{what}: вложенность глубже {MAX_DEPTH} уровней (строка {node.start_mark.line + 1})"
    )
