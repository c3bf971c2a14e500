"""The text-to-Cypher prompts: the graph schema, a few Northwind examples, and the retry turn."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

SYSTEM = (
    "You translate customer-support questions into one read-only Cypher query for a Neo4j "
    "graph. Use only the node labels, relationship types (with their direction) and properties "
    "listed in the schema. Never write CREATE, MERGE, SET, DELETE, REMOVE, CALL or comments. "
    "Ids are strings. Answer with the query alone in one ```cypher code block.\n\n"
    "Schema:\n{schema}"
)

# Few-shot pairs written for this project's Northwind model (not taken from the dev set).
EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "How many orders did the customer Around the Horn place?",
        "MATCH (c:Customer {companyName: 'Around the Horn'})-[:PURCHASED]->(o:Order)\n"
        "RETURN count(o) AS orders",
    ),
    (
        "Which products in the category Seafood cost more than 20?",
        "MATCH (p:Product)-[:PART_OF]->(c:Category {categoryName: 'Seafood'})\n"
        "WHERE p.unitPrice > 20\nRETURN p.productName AS product, p.unitPrice AS price",
    ),
    (
        "Which employee sold the most orders?",
        "MATCH (e:Employee)-[:SOLD]->(o:Order)\n"
        "RETURN e.firstName AS first, e.lastName AS last, count(o) AS orders\n"
        "ORDER BY orders DESC LIMIT 1",
    ),
)


def _example_messages() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for question, cypher in EXAMPLES:
        out.append(("human", question.replace("{", "{{").replace("}", "}}")))
        out.append(("ai", "```cypher\n" + cypher.replace("{", "{{").replace("}", "}}") + "\n```"))
    return out


WRITE = ChatPromptTemplate.from_messages(
    [("system", SYSTEM), *_example_messages(), ("human", "{question}")]
)

RETRY = (
    "That query could not be used: {error}\n"
    "Write a corrected query for the same question, in one ```cypher code block."
)
