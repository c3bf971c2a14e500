"""Every graph entity a question names, for the query verifier's binding check.

`EntityLinker` picks one best customer, product and order for the template intents; the
verifier needs *all* of them, of every kind a user can name (suppliers, shippers, categories,
employees, countries and cities too), each with the property it lives in, so that a query that
ignores one can be rejected with a reason that says how to use it. Matches are exact on the
question's normalised word n-grams; names of at least `FUZZY_MIN_CHARS` characters also match a
small misspelling (difflib ratio at least `MIN_SCORE`, as the linker does); so do names of
several words. Overlapping matches
keep the longest ("New Orleans Cajun Delights" the supplier, not "New Orleans" the city).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from difflib import SequenceMatcher

from twincore.platform.graph.store import GraphStore
from twincore.services.support.intents.linking import MIN_SCORE

MAX_NGRAM = 6
# Short one-word names only match exactly: "chain" is 0.89 similar to "chai", "product" 0.86
# to the category "produce"; names of several words, or long ones, may be misspelt.
FUZZY_MIN_CHARS = 9

_WORD = re.compile(r"[\w'&./-]+", re.UNICODE)


@dataclass(frozen=True)
class Mention:
    """A graph value the question names: what it is, where it lives, and its id if any."""

    kind: str
    """What the user named, in words: supplier, product, country ..."""
    label: str
    prop: str
    value: str
    key: str | None = None
    """The node's id (`customerID` 'ALFKI'): binding by id counts as binding the name."""
    aliases: tuple[str, ...] = ()

    @property
    def forms(self) -> tuple[str, ...]:
        """Every literal a query may bind this mention with, normalised."""
        found = [self.value, *self.aliases] + ([self.key] if self.key else [])
        return tuple(dict.fromkeys(norm(f) for f in found if norm(f)))


@dataclass(frozen=True)
class _Name:
    """One matchable name: its normalised words and the mention it stands for."""

    words: tuple[str, ...]
    mention: Mention


# (kind, label, id property, name property or a Cypher expression, aliases expression)
_NODE_NAMES = (
    ("customer", "Customer", "customerID", "companyName", "n.contactName"),
    ("product", "Product", "productID", "productName", None),
    ("supplier", "Supplier", "supplierID", "companyName", None),
    ("shipper", "Shipper", "shipperID", "companyName", None),
    ("category", "Category", "categoryID", "categoryName", None),
)
# Places are plain property values, not nodes: any label holding them binds them.
_PLACES = (
    ("country", "Customer", "country"),
    ("country", "Supplier", "country"),
    ("country", "Employee", "country"),
    ("country", "Order", "shipCountry"),
    ("city", "Customer", "city"),
    ("city", "Supplier", "city"),
    ("city", "Employee", "city"),
    ("city", "Order", "shipCity"),
)
_ORDER_ID = re.compile(r"\b(\d{5})\b")
_CUSTOMER_ID = re.compile(r"\b([A-Z]{5})\b")


def norm(text: str) -> str:
    """Lower-case words only: `'Exotic  Liquids'` and `exotic liquids%` compare equal."""
    return " ".join(w.lower().strip(".'/-") for w in _WORD.findall(text)).strip()


class MentionFinder:
    """Finds the mentions of a question; reads the names from the graph once, thread-safely."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._names: list[_Name] | None = None
        self._ids: dict[str, Mention] = {}
        self._lock = threading.Lock()

    def _load(self) -> list[_Name]:
        with self._lock:
            if self._names is None:
                self._names, self._ids = self._read()
            return self._names

    def _read(self) -> tuple[list[_Name], dict[str, Mention]]:
        names: list[_Name] = []
        ids: dict[str, Mention] = {}
        for kind, label, id_prop, name_prop, alias in _NODE_NAMES:
            extra = f", {alias} AS alias" if alias else ""
            rows = self._store.query(
                f"MATCH (n:{label}) RETURN n.{id_prop} AS id, n.{name_prop} AS name{extra}"
            )
            for row in rows:
                if not row.get("name"):
                    continue
                aliases = (str(row["alias"]),) if row.get("alias") else ()
                mention = Mention(kind, label, name_prop, str(row["name"]), str(row["id"]), aliases)
                for text in (mention.value, *aliases):
                    names.append(_Name(tuple(norm(text).split()), mention))
                if kind == "customer":
                    ids[str(row["id"])] = mention
        for row in self._store.query(
            "MATCH (n:Employee) RETURN n.employeeID AS id, n.firstName AS first, n.lastName AS last"
        ):
            full = f"{row['first']} {row['last']}"
            mention = Mention("employee", "Employee", "lastName", full, str(row["id"]))
            names.append(_Name(tuple(norm(full).split()), mention))
        seen: set[tuple[str, str]] = set()
        for kind, label, prop in _PLACES:
            for row in self._store.query(f"MATCH (n:{label}) RETURN DISTINCT n.{prop} AS v"):
                value = str(row["v"] or "")
                if value and (kind, norm(value)) not in seen:
                    seen.add((kind, norm(value)))
                    mention = Mention(kind, label, prop, value)
                    names.append(_Name(tuple(norm(value).split()), mention))
        for row in self._store.query("MATCH (o:Order) RETURN o.orderID AS id"):
            ids[str(row["id"])] = Mention("order", "Order", "orderID", str(row["id"]))
        return names, ids

    def find(self, question: str) -> list[Mention]:
        """The entities `question` names, longest match first where two overlap."""
        names = self._load()
        found: list[tuple[int, int, float, Mention]] = []  # start, end (word indexes), score
        for regex in (_ORDER_ID, _CUSTOMER_ID):
            for m in regex.finditer(question):
                if m.group(1) in self._ids:
                    found.append((-1, -1, 1.0, self._ids[m.group(1)]))
        words = [norm(w) for w in _WORD.findall(question)]
        for name in names:
            hit = _match(words, name.words)
            if hit is not None:
                found.append((hit[0], hit[0] + len(name.words), hit[1], name.mention))
        # Longest first, then the better score; a span already taken is not reused.
        found.sort(key=lambda f: (f[1] - f[0], f[2]), reverse=True)
        taken: set[int] = set()
        chosen: list[Mention] = []
        for start, end, _, mention in found:
            span = set(range(start, end))
            if span & taken or mention in chosen:
                continue
            taken |= span
            chosen.append(mention)
        return chosen


def _match(words: list[str], target: tuple[str, ...]) -> tuple[int, float] | None:
    """Where `target` occurs in `words` (exactly, or misspelt when it is long), and how well."""
    n = len(target)
    if not n or n > MAX_NGRAM:
        return None
    text = " ".join(target)
    fuzzy = n > 1 or len(text) >= FUZZY_MIN_CHARS
    best: tuple[int, float] | None = None
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(text)
    for i in range(len(words) - n + 1):
        gram = words[i : i + n]
        if tuple(gram) == target:
            return i, 1.0
        if not fuzzy:
            continue
        matcher.set_seq1(" ".join(gram))
        if matcher.real_quick_ratio() < MIN_SCORE or matcher.quick_ratio() < MIN_SCORE:
            continue
        score = matcher.ratio()
        if score >= MIN_SCORE and (best is None or score > best[1]):
            best = (i, score)
    return best
