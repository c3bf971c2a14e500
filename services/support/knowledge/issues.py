"""Known-issue knowledge: `(:Product)-[:HAS_ISSUE]->(:Issue)-[:SOLVED_BY]->(:Solution)` from the
YAML format documented in `data/known_issues.yaml` — parsed, checked against the graph's products,
then written in one query (a file with any problem writes nothing)."""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from twincore.platform.graph.store import GraphError, GraphStore
from twincore.platform.safe_yaml import read_yaml
from twincore.services.support.knowledge.reads import count, read_or_empty

DEFAULT_FILE = Path(__file__).parents[1] / "data" / "known_issues.yaml"
FORMAT_VERSION = 1
SEVERITIES = ("minor", "major", "critical")
MAX_TEXT = 4000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")

Catalogue = dict[str, str]  # productID -> productName


class KnowledgeError(ValueError):
    """The file cannot be loaded; `problems` names every entry and field at fault."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} problem(s), nothing written:\n{shown}{more}")
        self.problems = problems


@dataclass(frozen=True)
class Solution:
    solution_id: str
    text: str


@dataclass(frozen=True)
class Issue:
    """One known issue, its product resolved against the graph's catalogue."""

    issue_id: str
    product_id: str
    product_name: str
    title: str
    severity: str
    solutions: tuple[Solution, ...]
    symptoms: str | None = None


@dataclass
class Resolved:
    """What resolving entries produced: the issues, and notes on names that were corrected."""

    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def slug(text: str, size: int = 32) -> str:
    """Upper-case words joined by `-`, whole words only, at most `size` characters."""
    out = ""
    for word in re.findall(r"[A-Za-z0-9]+", text.upper()):
        joined = f"{out}-{word}" if out else word
        if len(joined) > size:
            break
        out = joined
    return out or re.sub(r"[^A-Z0-9]", "", text.upper())[:size] or "ISSUE"


def _text(entry: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "; ".join(value)  # a list of symptoms or steps reads as one text
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.append(f"{where}: {key} must be text")
        return None
    text = " ".join(str(value).split())
    if len(text) > MAX_TEXT:
        problems.append(f"{where}: {key} is longer than {MAX_TEXT} characters")
    return text or None


def _id(entry: dict[str, Any], where: str, problems: list[str]) -> str | None:
    value = _text(entry, "id", where, problems)
    if value is not None and not _ID.match(value):
        problems.append(f"{where}: id {value!r} must be letters, digits and _.:- (at most 80)")
    return value


def entries_of(data: Any, source: str) -> list[dict[str, Any]]:
    """The `issues:` list of a parsed document (a bare list is accepted too)."""
    if isinstance(data, dict):
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise KnowledgeError(source, [f"version must be {FORMAT_VERSION}, not {version!r}"])
        data = data.get("issues")
    if not isinstance(data, list) or not data:
        raise KnowledgeError(source, ["the document needs a non-empty `issues:` list"])
    bad = [i for i, e in enumerate(data) if not isinstance(e, dict)]
    if bad:
        raise KnowledgeError(source, [f"issues[{i}] must be a mapping" for i in bad])
    return data


def resolve(entries: list[dict[str, Any]], catalogue: Catalogue, source: str) -> Resolved:
    """Validate every entry and its product; raises KnowledgeError listing all problems."""
    by_name = {name.casefold(): pid for pid, name in catalogue.items()}
    problems: list[str] = []
    out = Resolved()
    seen: set[str] = set()
    if not catalogue:
        raise KnowledgeError(
            source, ["the graph holds no products: run `twincore support load northwind` first"]
        )
    for n, entry in enumerate(entries):
        where = f"issues[{n}]"
        title = _text(entry, "title", where, problems)
        if title is None:
            problems.append(f"{where}: title is required")
        where = f"{where} ({title[:40]})" if title else where
        product_id = _product(entry, catalogue, by_name, where, problems)
        severity = _text(entry, "severity", where, problems) or "minor"
        if severity not in SEVERITIES:
            problems.append(
                f"{where}: severity must be one of {list(SEVERITIES)}, not {severity!r}"
            )
        issue_id = _id(entry, where, problems)
        raw_solutions = entry.get("solutions")
        if not isinstance(raw_solutions, list) or not raw_solutions:
            problems.append(f"{where}: solutions must be a non-empty list")
            raw_solutions = []
        if product_id is None or title is None:
            continue
        issue_id = issue_id or f"P{product_id}-{slug(title)}"
        solutions = _solutions(raw_solutions, issue_id, where, problems)
        for key in (issue_id, *(s.solution_id for s in solutions)):
            if key in seen:
                problems.append(f"{where}: id {key!r} is used twice")
            seen.add(key)
        symptoms = _text(entry, "symptoms", where, problems)
        issue = Issue(
            issue_id, product_id, catalogue[product_id], title, severity, solutions, symptoms
        )
        out.issues.append(issue)
    if problems:
        raise KnowledgeError(source, problems)
    return out


def _product(
    entry: dict[str, Any],
    catalogue: Catalogue,
    by_name: dict[str, str],
    where: str,
    problems: list[str],
) -> str | None:
    name = _text(entry, "product", where, problems)
    pid = _text(entry, "product_id", where, problems)
    if name is None and pid is None:
        problems.append(f"{where}: give the product (its name) or product_id")
        return None
    if pid is not None and pid not in catalogue:
        problems.append(f"{where}: unknown product_id {pid!r}")
        return None
    if name is not None:
        found = by_name.get(name.casefold())
        if found is None:
            close = difflib.get_close_matches(name, list(catalogue.values()), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(f"{where}: unknown product {name!r}{hint}")
            return None
        if pid is not None and pid != found:
            problems.append(f"{where}: product {name!r} is productID {found}, not {pid!r}")
            return None
        pid = found
    return pid


def _solutions(
    raw: list[Any], issue_id: str, where: str, problems: list[str]
) -> tuple[Solution, ...]:
    out: list[Solution] = []
    for k, item in enumerate(raw):
        spot = f"{where} solutions[{k}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            problems.append(f"{spot} must be a mapping with `text`")
            continue
        text = _text(item, "text", spot, problems)
        if text is None:
            problems.append(f"{spot}: text is required")
            continue
        out.append(Solution(_id(item, spot, problems) or f"{issue_id}-{k + 1}", text))
    return tuple(out)


def catalogue_of(store: GraphStore) -> Catalogue:
    rows = read_or_empty(store, "MATCH (p:Product) RETURN p.productID AS id, p.productName AS name")
    return {str(r["id"]): str(r["name"]) for r in rows}


def read_file(path: Path, store: GraphStore) -> Resolved:
    """Parse and validate a known-issues YAML file against the graph's products."""
    source = str(path)
    try:
        data = read_yaml(path)
    except OSError as exc:
        raise KnowledgeError(source, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(source, [f"not valid YAML: {exc}"]) from exc
    return resolve(entries_of(data, source), catalogue_of(store), source)


_WRITE = (
    "UNWIND $issues AS r "
    "MATCH (p:Product {productID: r.productID}) "
    "MERGE (i:Issue {issueID: r.issueID}) "
    "SET i.title = r.title, i.severity = r.severity, i.symptoms = r.symptoms "
    "MERGE (p)-[:HAS_ISSUE]->(i) "
    "WITH i, r UNWIND r.solutions AS s "
    "MERGE (sol:Solution {solutionID: s.solutionID}) SET sol.text = s.text "
    "MERGE (i)-[:SOLVED_BY]->(sol)"
)


@dataclass(frozen=True)
class LoadReport:
    issues: int
    solutions: int
    products: int


def load_issues(store: GraphStore, issues: list[Issue]) -> LoadReport:
    """Merge the issues and solutions by id in one statement (all or nothing)."""
    for label, key in (("Issue", "issueID"), ("Solution", "solutionID")):
        with contextlib.suppress(GraphError):  # the index exists already
            store.query(f"CREATE INDEX FOR (n:{label}) ON (n.{key})", read_only=False)
    rows = [
        {
            "issueID": i.issue_id,
            "productID": i.product_id,
            "title": i.title,
            "severity": i.severity,
            "symptoms": i.symptoms,
            "solutions": [{"solutionID": s.solution_id, "text": s.text} for s in i.solutions],
        }
        for i in issues
    ]
    store.query(_WRITE, {"issues": rows}, read_only=False)
    return LoadReport(
        issues=len(issues),
        solutions=sum(len(i.solutions) for i in issues),
        products=len({i.product_id for i in issues}),
    )


def counts(store: GraphStore) -> dict[str, int]:
    """Issue and Solution nodes and HAS_ISSUE / SOLVED_BY relationships in the graph."""
    return {
        "Issue": count(store, "MATCH (n:Issue) RETURN count(n) AS c"),
        "Solution": count(store, "MATCH (n:Solution) RETURN count(n) AS c"),
        "HAS_ISSUE": count(store, "MATCH ()-[r:HAS_ISSUE]->() RETURN count(r) AS c"),
        "SOLVED_BY": count(store, "MATCH ()-[r:SOLVED_BY]->() RETURN count(r) AS c"),
    }


def to_yaml(issues: list[Issue], header: str = "") -> str:
    """The issues in the documented format, ids explicit, ready for review and `load issues`."""
    doc: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "issues": [
            {
                "id": i.issue_id,
                "product": i.product_name,
                "product_id": i.product_id,
                "title": i.title,
                **({"symptoms": i.symptoms} if i.symptoms else {}),
                "severity": i.severity,
                "solutions": [{"id": s.solution_id, "text": s.text} for s in i.solutions],
            }
            for i in issues
        ],
    }
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return comment + body
