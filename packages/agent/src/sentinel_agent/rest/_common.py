"""Shared helpers of the REST modules: the contract's error body, bounded JSON bodies, paging."""

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

MAX_BODY = 64 * 1024  # contract §2.0
MAX_ID = 256  # ids
MAX_SHORT = 128  # action / protocol / algorithm
MAX_TEXT = 512  # CIDR and pattern strings

RouteSpec = Any  # a (path, handler, methods) tuple, or a registry Endpoint (which unpacks as one)


class BadRequestError(ValueError):
    """A request the contract answers with 400 VALIDATION_ERROR."""


def error(status: int, code: str, message: str) -> JSONResponse:
    """The contract's error body: ``{"error": {"code", "message"}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def unavailable(what: str) -> JSONResponse:
    return error(503, "SERVICE_UNAVAILABLE", f"{what} is not available")


async def read_body(request: Any) -> bytes:
    """The request body, refused (BadRequestError) as soon as it exceeds MAX_BODY: a client
    announcing or sending more is never buffered whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequestError(f"request body larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequestError(f"request body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_object(
    request: Any, allowed: frozenset[str] | None = None, optional: bool = False
) -> dict[str, Any]:
    """The JSON object body (≤64 KiB); raises BadRequestError for anything else or unknown fields.

    ``optional``: an empty body reads as ``{}``.
    """
    body = await read_body(request)
    if not body.strip() and optional:
        return {}
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise BadRequestError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequestError("expected a JSON object")
    if allowed is not None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise BadRequestError(f"unknown field(s): {', '.join(unknown)}")
    return data


def text_field(data: Mapping[str, Any], key: str, limit: int, required: bool = False) -> str | None:
    """A string field no longer than ``limit``; None when absent (BadRequestError if required)."""
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequestError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    if len(value) > limit:
        raise BadRequestError(f"{key} is longer than {limit} characters")
    return value


def int_query(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; raises BadRequestError otherwise."""
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{key} must be an integer") from None
    if not low <= value <= high:
        raise BadRequestError(f"{key} must be between {low} and {high}")
    return value


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``page`` (from 0) and ``page_size`` (default 50, at most 500)."""
    return int_query(params, "page", 0, 0, 10_000_000), int_query(params, "page_size", 50, 1, 500)
