"""The docs are the contract a team reads without our code: the generated reference matches the models,
the policy and the workflows; the generator's static reading of the workflows matches what the worker
registers; and no link in README.md or docs/ points outside the repository or at nothing."""

from __future__ import annotations

import ast
import inspect
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio import workflow

from edge.contract_docs import (
    BREACH,
    DOC_DIR,
    PROCESSES_DOCS,
    ROOT,
    Process,
    awaiting_texts,
    documents,
    escalation_labels,
    read_source,
)
from models import calendar
from models.contract import CONTRACTS
from models.policy import Policy
from worker import WORKFLOWS
from workflows.clocks import BREACH as CLOCKS_BREACH
from workflows.clocks import SlaClock

DEFINITIONS = {d.name: d for d in (workflow._Definition.must_from_class(w) for w in WORKFLOWS)}


def test_generated_docs_are_current():
    stale = [str(path.relative_to(ROOT)) for path, text in documents().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"stale docs {stale}: run python -m edge.contract_docs"
    extra = {p.name for p in DOC_DIR.glob("*.md")} - {p.name for p in documents() if p.parent == DOC_DIR}
    assert not extra, f"docs/contract/ holds pages the generator does not write: {sorted(extra)}"


def test_every_process_of_the_contract_has_its_page():
    assert sorted(p.workflow_type for p in PROCESSES_DOCS) == sorted(c.workflow_type for c in CONTRACTS)


@pytest.mark.parametrize("process", PROCESSES_DOCS, ids=lambda p: p.workflow_type)
def test_the_static_reading_matches_the_registered_workflow(process: Process):
    """Names, descriptions and the allowed states of each action as the worker registers them."""
    source = read_source([ROOT / "workflows" / m for m in process.modules])
    definition = DEFINITIONS[process.workflow_type]
    # Besides its actions, every case takes the calendar rollout's update (docs/calendar.md).
    updates = {name: u for name, u in definition.updates.items() if name not in (None, calendar.UPDATE)}
    assert set(source.actions) == set(updates) == set(process.contract.updates)
    for name, update in updates.items():
        action = source.actions[name]
        assert action.description == update.description
        declared = inspect.getclosurevars(update.validator).nonlocals  # `Actions.__call__`'s validator
        assert action.allowed == tuple(state.name for state in declared["allowed"])
        assert action.refusal == declared["refusal"]
        assert action.allowed or name in process.allowed_when, f"{name}: say when it is allowed"
    signals = {name: s.description for name, s in definition.signals.items() if name is not None}
    assert source.signals == signals
    assert source.queries["status"] == definition.queries["status"].description


@pytest.mark.parametrize("process", PROCESSES_DOCS, ids=lambda p: p.workflow_type)
def test_every_clock_a_process_starts_is_documented(process: Process):
    """The names passed to clocks.start and open_window, read from the source, against the docs' clocks."""
    source = read_source([ROOT / "workflows" / m for m in process.modules])
    started = set()
    for module in process.modules:
        tree = ast.parse((ROOT / "workflows" / module).read_text(encoding="utf-8"))
        # `for name, clock in ((RESPONSE, ...), ...): clocks.start(name, ...)`: the loop's names
        looped = {loop.target.elts[0].id: {row.elts[0].id for row in loop.iter.elts}
                  for loop in ast.walk(tree) if isinstance(loop, ast.For) and isinstance(loop.target, ast.Tuple)
                  and isinstance(loop.target.elts[0], ast.Name) and isinstance(loop.iter, ast.Tuple)
                  and all(isinstance(r, ast.Tuple) and isinstance(r.elts[0], ast.Name) for r in loop.iter.elts)}
        for call in ast.walk(tree):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("start", "open_window") and call.args):
                first = call.args[0]
                if isinstance(first, ast.Name):
                    started |= looped.get(first.id, {first.id})
                elif isinstance(first, ast.Attribute):  # a numbered clock's property (`supplement-<n>`)
                    started.add(first.attr)
    documented = {clock.constant for clock in process.clocks}
    numbered = {c.constant for c in process.clocks if c.numbered}
    assert started - {"_supplement_clock"} <= documented, "a clock the docs do not list"
    assert documented <= started | numbered
    assert all(source.text(c) for c in documented)


def test_mark_labels_are_the_clock_engine_s():
    assert BREACH == CLOCKS_BREACH
    policy = Policy()
    for process in PROCESSES_DOCS:
        for clock in process.clocks:
            for _, clock_policy in clock.policies(policy):
                engine = SlaClock("x", clock_policy, datetime(2026, 1, 1, tzinfo=UTC))
                assert [m.label for m in engine.escalation_marks] == escalation_labels(clock_policy.escalations)
                assert [m.label for m in engine.budget_marks][-1] == BREACH


@pytest.mark.parametrize("process", PROCESSES_DOCS, ids=lambda p: p.workflow_type)
def test_every_awaiting_text_is_documented(process: Process):
    texts = awaiting_texts(read_source([ROOT / "workflows" / m for m in process.modules]))
    assert texts
    for text in texts:
        assert any(text in what for _, what in process.awaiting), text


# --- links ---------------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        text = re.sub(r"[`*_]|<[^>]+>", lambda m: m[0] if m[0] == "_" else "", heading[1])
        slug = "".join(c for c in text.lower() if c in " -_" or unicodedata.category(c)[0] in "LN")
        slug = slug.replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))


def test_the_link_check_finds_links_and_anchors():
    """The scan below is only worth its passes if it reads what it checks."""
    readme = links(ROOT / "README.md")
    assert "schemas/" in readme and any(target.startswith("#") for target in readme)
    assert {"the-contract-reference", "json", "errors"} <= anchors(DOC_DIR / "README.md")
    assert "../../examples/ComplaintClosure.input.json" in links(DOC_DIR / "ComplaintClosure.md")


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_stay_inside_the_repository_and_resolve(path: Path):
    problems = []
    for target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not a file of ours
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no such heading")
    assert not problems, problems


def test_no_document_names_a_place_outside_the_repository():
    """Not even as text: a clone has nothing beside it (the spec once lived in ../shared/)."""
    for path in markdown_files():
        assert "../shared" not in path.read_text(encoding="utf-8"), path
