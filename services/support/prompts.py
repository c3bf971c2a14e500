"""The prompts of support: text-to-Cypher (the graph schema, examples chosen per question; the
reply is the bare query, since the cores decode it under the schema's grammar, which has no
room for a fence; the repair turn is the router's `repair_messages`) and known-issue
extraction from an article (YAML in the `known_issues.yaml` format)."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate

from twincore.services.support.cypher.fewshot import Example

# The rules name what the embedded FalkorDB does not run (EXISTS/COUNT subqueries,
# length() of a string, duration.between) so the core does not spend a retry on them.
CYPHER_SYSTEM = (
    "You translate customer-support questions into one read-only Cypher query for a graph "
    "database. Use only the node labels, relationship types (in the direction shown) and "
    "properties listed in the schema. Never write CREATE, MERGE, SET, DELETE, REMOVE, CALL or "
    "comments.\n"
    "Rules: ids (orderID, productID, customerID, employeeID, shipVia ...) are strings, e.g. "
    "{{orderID: '10248'}}; dates are strings 'YYYY-MM-DD' (use STARTS WITH '1997' for a year); "
    "discontinued is true or false; a missing value is null (IS NULL). Do not use EXISTS {{...}} "
    "or COUNT {{...}} subqueries; write WHERE NOT (a)-[:REL]->(b) instead. Use size() for the "
    "length of a string. Return the properties the question asks about, with LIMIT when it "
    "asks for a number of results.\n"
    "Answer with the query alone: no code fence, no explanation.\n\n"
    "Schema:\n{schema}"
)


def write_messages(schema: str, question: str, examples: Sequence[Example]) -> list[BaseMessage]:
    """System (rules + schema), one human/ai pair per example, then the question."""
    messages: list[BaseMessage] = [SystemMessage(CYPHER_SYSTEM.format(schema=schema))]
    for example in examples:
        messages.append(HumanMessage(example.question))
        messages.append(AIMessage(example.cypher))
    messages.append(HumanMessage(question))
    return messages


EXTRACT_SYSTEM = """You extract known product problems and their fixes from a support article.
Products of the catalogue the article mentions: {candidates}

Reply with YAML only, exactly in this format:
```yaml
issues:
  - product: <a product name from the list above>
    title: <the problem in one line>
    symptoms: <what the customer notices>
    solutions:
      - text: <what solves it, as the article says>
```
List only problems the article states, each with the solution the article gives."""

EXTRACT = ChatPromptTemplate.from_messages(
    [("system", EXTRACT_SYSTEM), ("human", "Article:\n{article}")]
)

EXTRACT_RETRY = (
    "That reply could not be used: {error}\n"
    "Answer again with YAML only, in the format given, naming products from the list."
)
