"""Assembles the FastAPI application: API routers under ``/api/v1``, TAXII at ``/taxii2``, the web console at ``/``."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from soc.config import Settings
from soc.context import AppContext

log = logging.getLogger("soc.api")

#: (module, prefix). Missing modules are skipped, so areas can land independently.
ROUTERS: tuple[tuple[str, str], ...] = (
    ("soc.api.routes.core", "/api/v1"),
    ("soc.api.routes.incidents", "/api/v1"),
    ("soc.api.routes.sources", "/api/v1"),
    ("soc.api.routes.ingest", "/api/v1"),
    ("soc.api.routes.rules", "/api/v1"),
    ("soc.api.routes.playbook_steps", "/api/v1"),
    ("soc.api.routes.intel", "/api/v1"),
    ("soc.api.routes.anomaly", "/api/v1"),
    ("soc.api.routes.dashboard", "/api/v1"),
    ("soc.api.routes.auth", "/api/v1"),
    ("soc.api.routes.taxii", ""),
    ("soc.web.routes", ""),
)


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    if ctx is None:
        if settings is None:
            from soc.config import load_config

            settings = load_config()
        ctx = AppContext.build(settings)
    app = FastAPI(
        title="Hai Phong SOC API",
        version="1",
        description="Alerts, incidents, events and rules of the Hai Phong city SOC. Authenticate with "
                    "`Authorization: Bearer <token>` (`soc token create NAME`).",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{loc}: {e.get('msg')}")
        return JSONResponse(status_code=422, content={"detail": "invalid request: " + "; ".join(problems),
                                                      "errors": jsonable(exc.errors())})

    for module, prefix in ROUTERS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        app.include_router(mod.router, prefix=prefix)
        if hasattr(mod, "mount_static"):
            mod.mount_static(app)
    return app


def jsonable(obj: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    try:
        return jsonable_encoder(obj)
    except Exception:
        return str(obj)
