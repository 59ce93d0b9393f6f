"""Read Wazuh decoder test files (``../shared/logs/wazuh/tests-*/NAME.ini``).

Each section holds ``log N pass|fail = <raw line>`` entries and the ``decoder``
that must parse them; commented (``;``) entries are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

_LOG = re.compile(r"^log \d+ (?:pass|fail) = (?P<line>.*)$")
_DECODER = re.compile(r"^decoder = (?P<decoder>.*)$")


def iter_cases(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield ``(section, decoder, line)`` for every log line of one ``.ini`` file."""
    section = ""
    pending: list[str] = []
    decoder = ""

    def flush() -> Iterator[tuple[str, str, str]]:
        for ln in pending:
            yield section, decoder, ln

    for raw in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        if raw.startswith("["):
            yield from flush()
            section, pending, decoder = raw.strip("[] "), [], ""
            continue
        m = _LOG.match(raw)
        if m:
            pending.append(m.group("line"))
            continue
        m = _DECODER.match(raw)
        if m:
            decoder = m.group("decoder").strip()
    yield from flush()
