"""Template intents: recognise the common support questions from keywords and linked entities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from twincore.services.support.intents.linking import Links


class IntentName(StrEnum):
    ORDER_STATUS = "order_status"
    SHIPPING = "shipping"
    PRODUCT_INFO = "product_info"
    SUPPLIER = "supplier"
    LAST_ORDER = "last_order"
    HISTORY = "customer_history"
    KNOWN_ISSUE = "known_issue"


@dataclass(frozen=True)
class Intent:
    """A recognised intent and the Cypher parameters its template needs."""

    name: IntentName
    params: dict[str, str]


def _has(text: str, *words: str) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", text) for w in words)


def detect(question: str, links: Links) -> Intent | None:
    """The template intent for a question, or None (the question goes to text-to-Cypher)."""
    q = question.lower()
    order_id = links.order.key if links.order else links.missing_order_id
    if order_id is not None:
        # Shipping questions ask where/how/what it cost; everything else about an order is status.
        if _has(q, "address", "where", "freight", "ship to", "shipping cost", "destination"):
            return Intent(IntentName.SHIPPING, {"orderID": order_id})
        return Intent(IntentName.ORDER_STATUS, {"orderID": order_id})
    if links.product is not None:
        pid = {"productID": links.product.key}
        if _has(q, "issue", "problem", "broken", "not working", "fix", "defect", "error"):
            return Intent(IntentName.KNOWN_ISSUE, pid)
        if _has(q, "supplier", "supplies", "supplied", "who makes", "manufacturer", "vendor"):
            return Intent(IntentName.SUPPLIER, pid)
        if _has(q, "price", "cost", "stock", "available", "availab", "how much", "discontinued"):
            return Intent(IntentName.PRODUCT_INFO, pid)
    if links.customer is not None:
        cid = {"customerID": links.customer.key}
        if _has(q, "last order", "latest order", "most recent", "last purchase", "newest order"):
            return Intent(IntentName.LAST_ORDER, cid)
        if _has(q, "history", "orders", "purchases", "bought", "ordered"):
            return Intent(IntentName.HISTORY, cid)
    return None
