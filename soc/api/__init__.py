"""The HTTP API (FastAPI) under ``/api/v1``; OpenAPI at ``/openapi.json``."""
