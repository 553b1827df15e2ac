"""The one JSON error shape, for the API and for the site's own error responses under /api/ and /healthz:

{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"cohorts[0].label": ["..."]}}}
"""


def error_body(status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}}
