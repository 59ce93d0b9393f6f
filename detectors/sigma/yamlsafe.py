"""Safe YAML loading for rule files, with limits against resource exhaustion.

``yaml.safe_load`` never executes code, but it happily builds a "billion laughs"
document: a few kilobytes of anchors and aliases that expand into billions of
nodes once something walks the result (as the Sigma parser does). We compose
the node graph first, measure its size *with aliases expanded* (memoised, so
the measurement itself is linear in the document), and refuse documents over
the limits before any Python object is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_FILE_BYTES = 1_000_000
MAX_EXPANDED_NODES = 100_000
MAX_ALIASES = 100
#: libyaml's safe loader when available (about 10x faster; the same safe constructors).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleYamlError(ValueError):
    """A rule file that cannot be read as YAML; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class YamlDoc:
    data: Any
    line: int  # 1-based line where the document starts


def _expanded_size(node: yaml.Node, memo: dict[int, int], limit: int) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # breaks cycles (recursive aliases)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo, limit)
            if total > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo, limit) + _expanded_size(v, memo, limit)
            if total > limit:
                break
    memo[key] = total
    return total


def load_documents(text: str) -> list[YamlDoc]:
    """All YAML documents of ``text`` as plain data, refusing oversized or bomb-like input."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise RuleYamlError(f"file larger than {MAX_FILE_BYTES} bytes")
    aliases = text.count("*")  # cheap upper bound before parsing events
    if aliases > MAX_ALIASES:
        # only refuse when the YAML really uses that many aliases ('*' is common in values)
        n = 0
        try:
            for ev in yaml.parse(text, Loader=_Loader):
                if isinstance(ev, yaml.AliasEvent):
                    n += 1
                    if n > MAX_ALIASES:
                        raise RuleYamlError(f"more than {MAX_ALIASES} YAML aliases (possible YAML bomb)")
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(exc) from None
    docs: list[YamlDoc] = []
    try:
        loader = _Loader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                size = _expanded_size(node, {}, MAX_EXPANDED_NODES)
                if size > MAX_EXPANDED_NODES:
                    raise RuleYamlError(
                        f"document expands to more than {MAX_EXPANDED_NODES} nodes (YAML bomb?)",
                        node.start_mark.line + 1)
                data = loader.construct_document(node)
                docs.append(YamlDoc(data, node.start_mark.line + 1))
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc) from None
    except yaml.YAMLError as exc:
        raise RuleYamlError(f"invalid YAML: {exc}") from None
    return docs


def _yaml_error(exc: yaml.MarkedYAMLError) -> RuleYamlError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or str(exc)
    return RuleYamlError(f"invalid YAML: {problem}", line)
