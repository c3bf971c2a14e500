"""What a request's output must match: a JSON schema, any JSON object, a regex or a Lark grammar.

A `Constraint` is plain data (two strings), so it travels with `SamplingParams` through Ray and
HTTP unchanged; the engine compiles it against the serving model's tokenizer once per distinct
constraint (engine/grammar.py) and masks the tokens that would leave the language at every step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args

ConstraintKind = Literal["json_schema", "json_object", "regex", "lark"]
CONSTRAINT_KINDS: tuple[str, ...] = get_args(ConstraintKind)
MAX_CONSTRAINT_CHARS = 200_000
"""Longest constraint source accepted: a schema or grammar beyond this is a mistake or an attack
on the compiler, not a form an answer should follow."""


@dataclass(frozen=True)
class Constraint:
    """The language an answer must belong to.

    kind "json_schema": `source` is the schema as JSON text; "json_object": any JSON object
    (`source` empty); "regex": the whole answer matches `source`; "lark": `source` is a Lark
    grammar whose `start` rule the whole answer matches (llguidance's Lark dialect).
    """

    kind: ConstraintKind
    source: str = ""
    strict: bool = True
    """False: a guide, not a promise. A core that cannot apply this kind (a remote OpenAI API
    takes JSON constraints only) answers without it instead of refusing; services set this,
    since their checkers judge every answer anyway. Clients' constraints stay strict."""

    @classmethod
    def json_schema(cls, schema: dict[str, object]) -> Constraint:
        """The constraint of a JSON schema given as a dict (key order kept, so equal schemas
        written the same way share one compiled grammar)."""
        return cls("json_schema", json.dumps(schema))

    def problems(self) -> list[str]:
        """What is wrong with the constraint as data (compiling it may still fail)."""
        if self.kind not in CONSTRAINT_KINDS:
            return [
                f"constraint kind must be one of {', '.join(CONSTRAINT_KINDS)}, got {self.kind!r}"
            ]
        if len(self.source) > MAX_CONSTRAINT_CHARS:
            return [f"constraint source is longer than {MAX_CONSTRAINT_CHARS} characters"]
        if self.kind == "json_object":
            return [] if not self.source else ["a json_object constraint takes no source"]
        if not self.source.strip():
            return [f"a {self.kind} constraint needs a source"]
        if self.kind == "json_schema":
            try:
                schema = json.loads(self.source)
            except ValueError as error:
                return [f"the JSON schema is not JSON: {error}"]
            if not isinstance(schema, dict):
                return ["a JSON schema must be a JSON object"]
        return []
