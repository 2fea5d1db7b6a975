"""Walk composed YAML nodes with their line numbers (for case profiles).

``yaml.compose`` builds nodes without constructing any Python object, so tags in a
profile are never executed; every check here fails with a
:class:`ingest.errors.ProfileError` naming the file and the line.
"""

from __future__ import annotations

import re

import yaml

from .case_patterns import PatternProblem, check_pattern
from .errors import ProfileError

__all__ = ["Reader"]


class Reader:
    """Walks composed YAML nodes, raising ProfileError with file and line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, message: str) -> ProfileError:
        return ProfileError(self.path, message, node.start_mark.line + 1 if node is not None else None)

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in keys:
                raise self.fail(key, f"unknown key {name!r} in {what}; expected one of: {', '.join(keys)}")
            if name in out:
                raise self.fail(key, f"key {name!r} appears twice in {what}")
            out[name] = value
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null") or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a non-empty text")
        return str(node.value).strip()

    def texts(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":null"):
            return [(self.text(node, what), node)]
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a text or a list of texts")
        return [(self.text(item, f"each entry of {what}"), item) for item in node.value]

    def flag(self, node: yaml.Node, what: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":bool"):
            return str(node.value).lower() in ("true", "yes", "on")
        raise self.fail(node, f"{what} must be true or false")

    def choice(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, what)
        if value not in allowed:
            raise self.fail(node, f"{what} is {value!r}; expected one of: {', '.join(allowed)}")
        return value

    def choices(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> frozenset[str]:
        out = set()
        for value, item in self.texts(node, what):
            if value not in allowed:
                raise self.fail(item, f"{what} has {value!r}; expected any of: {', '.join(allowed)}")
            out.add(value)
        return frozenset(out)

    def regex(self, node: yaml.Node, pattern: str, what: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
        try:
            return check_pattern(pattern, flags)
        except PatternProblem as exc:
            raise self.fail(node, f"{what}: {exc}") from None
