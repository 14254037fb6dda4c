"""The REST API (starlette)."""
