"""taxii2-client ``Collection`` with a request timeout (the library has no timeout option of its own)."""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, *args, **kwargs)


def collection(url: str, *, user: str | None, password: str | None, verify: bool = True,
               timeout: float = 30) -> Any:
    """A TAXII 2.1 collection client whose every request gives up after ``timeout`` seconds."""
    from taxii2client.common import _HTTPConnection
    from taxii2client.v21 import Collection

    conn = _HTTPConnection(user=user, password=password, verify=verify, version="2.1")
    adapter = _TimeoutAdapter(timeout)
    conn.session.mount("http://", adapter)
    conn.session.mount("https://", adapter)
    return Collection(url, conn=conn)
