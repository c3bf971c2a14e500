"""Bad input for every route of a gateway's OpenAPI document: malformed bodies and unknown ids.

`bad_requests(openapi)` turns the document into requests a client could get wrong: a body that
is not JSON, a JSON body of the wrong shape, a path id that does not exist (with an otherwise
valid body), a query value of the wrong type. `check_refusal` says what every answer must be: a
4xx JSON error with a message, and nothing from the server's insides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import twincore

# The Gradio mounts: their routes speak Gradio's own protocol, not the API's error shape.
SKIPPED_PREFIXES = ("/ui/",)
REPO_ROOT = str(Path(twincore.__file__).resolve().parents[2])
FORBIDDEN = ("Traceback", "\x1b[", REPO_ROOT, 'File "/')
# Path parameters that name rather than identify: any student name is valid (an unseen student
# has the prior mastery), so there is no "unknown" one to refuse.
FREE_NAMES = frozenset({"student"})


@dataclass(frozen=True)
class BadRequest:
    method: str
    path: str
    what: str
    content: bytes | None = None
    json_body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.what})"


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> Any:
    """A value that passes the schema's basic checks (required fields, types, enums, bounds)."""
    schema = _resolve(schema, document)
    if depth > 6:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            return example(options[0] if options else schema[key][0], document, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: example(properties[name], document, depth + 1)
            for name in schema.get("required", [])
            if name in properties
        }
    if kind == "array":
        item = example(schema.get("items", {}), document, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    text = "a question about the thing"
    size = min(max(len(text), int(schema.get("minLength", 0))), int(schema.get("maxLength", 99)))
    return (text * (size // len(text) + 1))[:size]


def _body_schema(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    content = operation.get("requestBody", {}).get("content", {})
    for media, entry in content.items():
        return media, entry.get("schema", {})
    return None


def _bad_id(parameter: dict[str, Any], document: dict[str, Any]) -> str:
    schema = _resolve(parameter.get("schema", {}), document)
    kind = schema.get("type")
    if kind == "integer" or kind == "number":
        return "987654321"
    if "enum" in schema:
        return "no-such-choice"
    return "no-such-id-987654321"


def bad_requests(document: dict[str, Any]) -> list[BadRequest]:
    """Requests every route must refuse with a 4xx."""
    found: list[BadRequest] = []
    for path, item in document["paths"].items():
        if path.startswith(SKIPPED_PREFIXES):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            method = method.upper()
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            path_params = [p for p in parameters if p.get("in") == "path"]
            query_params = [p for p in parameters if p.get("in") == "query"]
            body = _body_schema(operation)
            valid_query = {
                p["name"]: str(example(p.get("schema", {}), document))
                for p in query_params
                if p.get("required")
            }
            valid_path = path
            for p in path_params:
                valid_path = valid_path.replace("{" + p["name"] + "}", "1")
            if body is not None:
                media, schema = body
                found.append(
                    BadRequest(
                        method,
                        valid_path,
                        "body is not JSON",
                        content=b"{not json",
                        params=valid_query,
                        headers={"content-type": "application/json"},
                    )
                )
                if media == "application/json":
                    shape = _resolve(schema, document)
                    wrong = (
                        [1, 2]
                        if shape.get("type") == "object" or "properties" in shape
                        else {"x": {}}
                    )
                    found.append(
                        BadRequest(
                            method,
                            valid_path,
                            "body of the wrong shape",
                            json_body=wrong,
                            params=valid_query,
                        )
                    )
            if [p for p in path_params if p["name"] not in FREE_NAMES]:
                bad_path = path
                for p in path_params:
                    bad_path = bad_path.replace("{" + p["name"] + "}", _bad_id(p, document))
                json_body = None
                if body is not None and body[0] == "application/json":
                    json_body = example(body[1], document)
                found.append(
                    BadRequest(
                        method,
                        bad_path,
                        "unknown id",
                        json_body=json_body,
                        content=None if body is None or json_body is not None else b"",
                        params=valid_query,
                    )
                )
            for p in query_params:
                kind = _resolve(p.get("schema", {}), document)
                if kind.get("type") in ("integer", "number") or "enum" in kind:
                    params = {**valid_query, p["name"]: "not-a-valid-value"}
                    suffix = valid_path
                    if path_params:
                        suffix = path
                        for q in path_params:
                            suffix = suffix.replace("{" + q["name"] + "}", "1")
                    found.append(
                        BadRequest(method, suffix, f"bad query {p['name']}", params=params)
                    )
    return found


def send(client: httpx.Client, request: BadRequest) -> httpx.Response:
    kwargs: dict[str, Any] = {"params": request.params, "headers": request.headers}
    if request.json_body is not None:
        kwargs["json"] = request.json_body
    elif request.content is not None:
        kwargs["content"] = request.content
    return client.request(request.method, request.path, **kwargs)


def check_refusal(request: BadRequest, response: httpx.Response) -> str | None:
    """None when the answer is a clean 4xx JSON error; otherwise what is wrong with it."""
    body = response.text
    leaked = [marker for marker in FORBIDDEN if marker in body]
    if leaked:
        return f"{request}: {response.status_code} body leaks {leaked}: {body[:300]}"
    if not 400 <= response.status_code < 500:
        return f"{request}: status {response.status_code}: {body[:300]}"
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{request}: {response.status_code} is not a JSON error: {body[:300]}"
    if not isinstance(error, dict) or not str(error.get("message", "")).strip():
        return f"{request}: {response.status_code} error has no message: {body[:300]}"
    return None
