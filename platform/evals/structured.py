"""`twincore eval structured`: how many grammar-constrained objects validate against their schema.

Each object is one chat request through the router to a pinned core with a JSON-schema
`Constraint` (what `response_format: json_schema` becomes at the gateway), sampled with its own
seed so the objects differ; the text is parsed and validated with `jsonschema` (Draft 2020-12).
The schemas are the shapes clients ask for: nested objects, arrays with bounds, enums, integer
ranges, string lengths and formats. An object fails when it does not parse, breaks its schema,
or was cut at the token budget before the grammar closed it (reported apart: `length`).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.evals.local import local_router

if TYPE_CHECKING:
    from twincore.platform.chat_model import TwincoreChatModel
    from twincore.platform.settings import Settings

MAX_TOKENS = 256
CONCURRENCY = 8
"""Requests in flight per core: the engine batches them."""
TEMPERATURE = 0.7

_TEXT = {"type": "string", "minLength": 1, "maxLength": 40}
SCHEMAS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "contact",
        "Extract the contact: 'Reach Ana Souza at ana.souza@example.org or +55 11 5555 0101.'",
        {
            "type": "object",
            "properties": {"name": _TEXT, "email": {"type": "string", "format": "email"},
                           "phone": {"type": "string", "pattern": "^[+0-9 ]{6,20}$"}},
            "required": ["name", "email", "phone"],
            "additionalProperties": False,
        },
    ),
    (
        "ticket",
        "Triage this support message as JSON: 'My card was charged twice for order 1182.'",
        {
            "type": "object",
            "properties": {
                "category": {"enum": ["billing", "shipping", "account", "technical", "other"]},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                "order_id": {"type": ["integer", "null"]},
                "summary": {"type": "string", "maxLength": 80},
            },
            "required": ["category", "priority", "order_id", "summary"],
            "additionalProperties": False,
        },
    ),
    (
        "invoice",
        "Write an invoice for two consulting hours at 120 EUR and one license at 300 EUR.",
        {
            "type": "object",
            "properties": {
                "currency": {"enum": ["EUR", "USD", "GBP"]},
                "lines": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 4,
                    "items": {
                        "type": "object",
                        "properties": {"item": _TEXT,
                                       "quantity": {"type": "integer", "minimum": 1},
                                       "unit_price": {"type": "number", "minimum": 0}},
                        "required": ["item", "quantity", "unit_price"],
                        "additionalProperties": False,
                    },
                },
                "total": {"type": "number"},
            },
            "required": ["currency", "lines", "total"],
            "additionalProperties": False,
        },
    ),
    (
        "alert",
        "Summarise an AML alert: account C48 sent 9 cash deposits just under 10,000 in one day.",
        {
            "type": "object",
            "properties": {
                "account": {"type": "string", "pattern": "^[A-Z][0-9]{1,6}$"},
                "pattern": {"enum": ["structuring", "fan-in", "fan-out", "cycle", "other"]},
                "transactions": {"type": "integer", "minimum": 0},
                "risk": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["account", "pattern", "transactions", "risk"],
            "additionalProperties": False,
        },
    ),
    (
        "recipe",
        "Give a short pancake recipe as JSON.",
        {
            "type": "object",
            "properties": {
                "title": _TEXT,
                "servings": {"type": "integer", "minimum": 1, "maximum": 12},
                "ingredients": {"type": "array", "items": _TEXT, "minItems": 2, "maxItems": 6},
                "steps": {"type": "array", "items": {"type": "string", "maxLength": 80},
                          "minItems": 1, "maxItems": 4},
            },
            "required": ["title", "servings", "ingredients", "steps"],
            "additionalProperties": False,
        },
    ),
    (
        "function",
        "Describe a Python function that returns the n-th Fibonacci number.",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z_][a-z0-9_]{0,30}$"},
                "parameters": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "pattern": "^[a-z_]\\w{0,20}$"},
                                       "type": {"enum": ["int", "float", "str", "bool"]}},
                        "required": ["name", "type"],
                        "additionalProperties": False,
                    },
                },
                "returns": {"enum": ["int", "float", "str", "bool", "None"]},
                "complexity": {"type": "string", "maxLength": 12},
            },
            "required": ["name", "parameters", "returns"],
            "additionalProperties": False,
        },
    ),
    (
        "answer",
        "Natalia sold 48 clips in April and half as many in May. How many in all? Answer as JSON.",
        {
            "type": "object",
            "properties": {"reasoning": {"type": "string", "maxLength": 120},
                           "answer": {"type": "number"}},
            "required": ["reasoning", "answer"],
            "additionalProperties": False,
        },
    ),
    (
        "event",
        "Plan a team meeting next Tuesday at 10:00 with three attendees, as JSON.",
        {
            "type": "object",
            "properties": {
                "title": _TEXT,
                "date": {"type": "string", "format": "date"},
                "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "attendees": {"type": "array", "items": _TEXT, "minItems": 1, "maxItems": 5},
                "online": {"type": "boolean"},
            },
            "required": ["title", "date", "time", "attendees", "online"],
            "additionalProperties": False,
        },
    ),
)  # fmt: skip
"""(name, prompt, schema) of each shape; object i uses shape i mod len(SCHEMAS)."""
_FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


@dataclass(frozen=True)
class StructuredObject:
    """One generated object and how it fared."""

    index: int
    core: str
    schema: str
    valid: bool
    finish_reason: str
    tokens: int
    error: str
    text: str


def check(text: str, schema: dict[str, Any]) -> str:
    """'' when `text` is JSON valid against `schema` (formats checked too), else why not."""
    try:
        value = json.loads(text)
    except ValueError as error:
        return f"not JSON: {error}"
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema, format_checker=_FORMATS).iter_errors(value)
    )
    return "" if problem is None else f"{'/'.join(map(str, problem.path))}: {problem.message}"


async def _one(model: TwincoreChatModel, core: str, index: int) -> StructuredObject:
    name, prompt, schema = SCHEMAS[index % len(SCHEMAS)]
    reply = await model.ainvoke(
        [{"role": "system", "content": "Answer with one JSON object."},
         {"role": "user", "content": prompt}],
        constraint=Constraint.json_schema(schema),
        max_tokens=MAX_TOKENS,
        temperature=TEMPERATURE,
        seed=index,
    )  # fmt: skip
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    finish = str(reply.response_metadata.get("finish_reason", ""))
    tokens = reply.usage_metadata["output_tokens"] if reply.usage_metadata else 0
    error = check(text, schema)
    return StructuredObject(index, core, name, not error, finish, tokens, error, text)


async def run_structured(
    settings: Settings,
    cores: Sequence[str],
    objects: int,
    on_object: Callable[[StructuredObject], None] = lambda _o: None,
) -> dict[str, Any]:
    """Generate `objects` objects on each core; the report per core and every failure."""
    report: dict[str, Any] = {"objects_per_core": objects, "schemas": len(SCHEMAS), "cores": {}}
    async with local_router(settings, cores) as router:
        from twincore.platform.chat_model import TwincoreChatModel

        models = {core: TwincoreChatModel.over_router(router, model=core) for core in cores}
        for core in cores:
            slots = asyncio.Semaphore(CONCURRENCY)

            async def bounded(index: int, core: str, slots: asyncio.Semaphore) -> StructuredObject:
                async with slots:
                    made = await _one(models[core], core, index)
                on_object(made)
                return made

            made = await asyncio.gather(*(bounded(i, core, slots) for i in range(objects)))
            report["cores"][core] = summary(made)
    return report


def summary(made: Sequence[StructuredObject]) -> dict[str, Any]:
    valid = sum(m.valid for m in made)
    return {
        "objects": len(made),
        "valid": valid,
        "valid_rate": valid / len(made) if made else 0.0,
        "finish_reasons": dict(Counter(m.finish_reason for m in made)),
        "mean_tokens": sum(m.tokens for m in made) / len(made) if made else 0.0,
        "by_schema": {
            name: sum(m.valid for m in made if m.schema == name)
            / max(1, sum(m.schema == name for m in made))
            for name, _, _ in SCHEMAS
        },
        "failures": [asdict(m) for m in made if not m.valid][:20],
    }
