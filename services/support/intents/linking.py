"""Entity linking: find the customers, products and orders a support question names.

Names and ids are read from the graph once per linker and cached; matching is difflib's
`SequenceMatcher` over the question's word n-grams, so small misspellings still link.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from twincore.platform.graph.store import GraphStore

# Below this similarity a name match is more likely noise than a misspelling.
MIN_SCORE = 0.84
MAX_NGRAM = 6

_WORDS = re.compile(r"[\w'&.-]+", re.UNICODE)
_ORDER_ID = re.compile(r"\b(\d{5})\b")
_CUSTOMER_ID = re.compile(r"\b([A-Z]{5})\b")


@dataclass(frozen=True)
class Entity:
    """One linked graph node: its label, its id property value, its display name."""

    label: str
    key: str
    name: str
    score: float


@dataclass
class Links:
    """The best match per kind (customer, product, order) found in a question."""

    customer: Entity | None = None
    product: Entity | None = None
    order: Entity | None = None
    # An id-looking token that is not in the graph (e.g. order 99999): the answer says so.
    missing_order_id: str | None = None


@dataclass
class _Names:
    customers: dict[str, str] = field(default_factory=dict)  # customerID -> companyName
    contacts: dict[str, str] = field(default_factory=dict)  # customerID -> contactName
    products: dict[str, str] = field(default_factory=dict)  # productID -> productName
    orders: set[str] = field(default_factory=set)


def _norm(text: str) -> str:
    return " ".join(w.lower().strip(".'") for w in _WORDS.findall(text))


class EntityLinker:
    """Links question text to graph nodes; loads the names lazily, once, thread-safely."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._names: _Names | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Forget the cached names (after a reload of the graph)."""
        with self._lock:
            self._names = None

    def _load(self) -> _Names:
        with self._lock:
            if self._names is None:
                names = _Names()
                for r in self._store.query(
                    "MATCH (c:Customer) RETURN c.customerID AS id, c.companyName AS name, "
                    "c.contactName AS contact"
                ):
                    names.customers[str(r["id"])] = str(r["name"] or "")
                    names.contacts[str(r["id"])] = str(r["contact"] or "")
                for r in self._store.query(
                    "MATCH (p:Product) RETURN p.productID AS id, p.productName AS name"
                ):
                    names.products[str(r["id"])] = str(r["name"] or "")
                names.orders = {
                    str(r["id"])
                    for r in self._store.query("MATCH (o:Order) RETURN o.orderID AS id")
                }
                self._names = names
            return self._names

    def link(self, question: str) -> Links:
        names = self._load()
        links = Links()
        for oid in _ORDER_ID.findall(question):
            if oid in names.orders:
                links.order = Entity("Order", oid, f"order {oid}", 1.0)
                break
            links.missing_order_id = links.missing_order_id or oid
        if links.order is not None:
            links.missing_order_id = None
        for cid in _CUSTOMER_ID.findall(question):
            if cid in names.customers:
                links.customer = Entity("Customer", cid, names.customers[cid], 1.0)
                break
        grams = _ngrams(_norm(question))
        if links.customer is None:
            links.customer = _best(grams, "Customer", names.customers, names.contacts)
        links.product = _best(grams, "Product", names.products, {})
        return links


def _ngrams(text: str) -> list[str]:
    words = text.split()
    out: list[str] = []
    for n in range(1, MAX_NGRAM + 1):
        out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


def _best(
    grams: list[str], label: str, primary: dict[str, str], alias: dict[str, str]
) -> Entity | None:
    best: Entity | None = None
    for key, display in primary.items():
        for name in (display, alias.get(key, "")):
            target = _norm(name)
            if not target:
                continue
            score = _score(grams, target)
            # Longer names win ties so "Chef Anton's Gumbo Mix" beats a one-word overlap.
            if score >= MIN_SCORE and (
                best is None or (score, len(target)) > (best.score, len(_norm(best.name)))
            ):
                best = Entity(label, key, display, score)
    return best


def _score(grams: list[str], target: str) -> float:
    n_words = len(target.split())
    best = 0.0
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    for gram in grams:
        # Only n-grams of about the target's length can be a misspelling of it.
        if abs(len(gram.split()) - n_words) > 1:
            continue
        matcher.set_seq1(gram)
        if matcher.real_quick_ratio() < MIN_SCORE or matcher.quick_ratio() < MIN_SCORE:
            continue
        best = max(best, matcher.ratio())
    return best
