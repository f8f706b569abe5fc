"""Self-contained HTML for plans, runs and teams: no CDN, no network, no external files.

The run report is one page: a header (goal, status, answer, usage, cost), the plan DAG as inline
SVG (a layered layout computed here), a Gantt timeline of every sub-task attempt and every
planner, critic and synthesizer call, the critic's rounds, and a `<details>` block per sub-task
with every attempt's prompt, context, output, tool calls, model and tokens. Clicking a DAG node
or a timeline row opens that sub-task's block (a few lines of inline script); without script —
e.g. in an untrusted notebook — the blocks still open on their own summary. Every piece of user
text is escaped: goals, outputs and tool results may contain markup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from agentorch._models import model_label
from agentorch._types import (
    Cost,
    ModelPrice,
    Plan,
    RunResult,
    StepRecord,
    SubTask,
    SubTaskResult,
    TokenUsage,
    normalize_prices,
    price_for,
)

if TYPE_CHECKING:
    from agentorch._team import Team

__all__ = [
    "dag_svg",
    "layered_layout",
    "plan_html",
    "report_html",
    "result_fragment",
    "team_html",
    "usage_html",
]

_NODE_W, _NODE_H, _COL_GAP, _ROW_GAP, _PAD = 180, 48, 64, 16, 12
_LABEL_W, _CHART_W, _BAR_H, _ROW_H = 170, 640, 18, 26
_STATUS_COLORS = {
    "waiting": "#9e9e9e",
    "running": "#0969da",
    "done": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#b7791f",
    "not run": "#9e9e9e",
}

_CSS = """
.agentorch{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:1100px}
.agentorch h1{font-size:22px;margin:8px 0}.agentorch h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.agentorch .meta{color:#57606a;margin:4px 0}.agentorch .badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.agentorch pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;padding:8px;margin:4px 0;max-height:420px;overflow:auto;font-size:12.5px}
.agentorch table{border-collapse:collapse;margin:6px 0}.agentorch th,.agentorch td{border:1px solid #e1e4e8;padding:3px 8px;text-align:left;vertical-align:top}
.agentorch td.num,.agentorch th.num{text-align:right;font-variant-numeric:tabular-nums}
.agentorch svg text{font-family:system-ui,sans-serif}.agentorch .node,.agentorch .row{cursor:pointer}
.agentorch .node:hover rect,.agentorch .node.selected rect{stroke-width:3}.agentorch .row.selected .label-bg{fill:#ddf4ff}
.agentorch details.detail{border:1px solid #e1e4e8;border-radius:6px;margin:6px 0;padding:4px 10px}
.agentorch details.detail[open]{border-color:#0969da;box-shadow:0 0 0 1px #0969da inset}
.agentorch details.detail>summary{cursor:pointer;font-weight:600}.agentorch .attempt{border-top:1px dashed #d0d7de;margin-top:8px;padding-top:6px}
.agentorch .verdict{margin:4px 0}.agentorch .usage{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.agentorch .scroll{overflow-x:auto}
.agentorch .passed{color:#137333;font-weight:600}.agentorch .failed{color:#b3261e;font-weight:600}
.agentorch .error{color:#8a4b00;font-weight:600}.agentorch table.wide{width:100%}
.agentorch .chip{display:inline-block;border-radius:3px;padding:0 .3rem;margin:.1rem;font-size:12px}
.agentorch .chip.ok{background:#e6f4ea}.agentorch .chip.bad{background:#fce8e6}
"""

_SCRIPT = """
(function(){
  var root=document.currentScript.parentNode;
  function show(id){
    root.querySelectorAll('details.detail').forEach(function(d){d.open=(d.dataset.detail===id);});
    root.querySelectorAll('[data-st]').forEach(function(e){e.classList.toggle('selected',e.dataset.st===id);});
    var d=Array.prototype.find.call(root.querySelectorAll('details.detail'),function(x){return x.dataset.detail===id;});
    if(d){d.scrollIntoView({block:'nearest'});}
  }
  root.querySelectorAll('[data-st]').forEach(function(e){
    e.addEventListener('click',function(){show(e.dataset.st);});
    e.addEventListener('keydown',function(ev){if(ev.key==='Enter'||ev.key===' '){ev.preventDefault();show(e.dataset.st);}});
  });
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- layout ---------------------------------------------------------------------------------


def layered_layout(plan: Plan) -> dict[str, tuple[int, int]]:
    """`{subtask_id: (layer, position)}`: layer = longest dependency path from a root, position
    within the layer ordered by the mean position of its dependencies (fewer edge crossings).
    Unknown dependencies are ignored; a cycle (only possible in an unvalidated plan) is broken."""
    ids = [st.id for st in plan.subtasks]
    deps = {st.id: [d for d in st.depends_on if d in ids and d != st.id] for st in plan.subtasks}
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(sid: str) -> int:
        if sid in layer:
            return layer[sid]
        if sid in visiting:  # cycle: treat the back edge as absent
            return -1
        visiting.add(sid)
        value = 1 + max((depth(d) for d in deps[sid]), default=-1)
        visiting.discard(sid)
        layer[sid] = value
        return value

    for sid in ids:
        depth(sid)
    columns: dict[int, list[str]] = {}
    for sid in ids:
        columns.setdefault(layer[sid], []).append(sid)
    position: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        for i, sid in enumerate(members):
            placed = [position[d] for d in deps[sid] if d in position]
            position[sid] = sum(placed) / len(placed) if placed else float(i)
        members.sort(key=lambda s: (position[s], ids.index(s)))
        for i, sid in enumerate(members):
            position[sid] = float(i)
    return {sid: (layer[sid], int(position[sid])) for sid in ids}


# -- the DAG --------------------------------------------------------------------------------


def dag_svg(plan: Plan, states: Mapping[str, tuple[str, int]], *, svg_id: str = "") -> str:
    """The plan as SVG; `states` maps sub-task ids to (status, attempts)."""
    layout = layered_layout(plan)
    if not layout:
        return "<p>(empty plan)</p>"
    n_cols = max(c for c, _ in layout.values()) + 1
    n_rows = max(r for _, r in layout.values()) + 1
    width = _PAD * 2 + n_cols * _NODE_W + (n_cols - 1) * _COL_GAP
    height = _PAD * 2 + n_rows * _NODE_H + (n_rows - 1) * _ROW_GAP

    def anchor(sid: str) -> tuple[float, float]:
        col, row = layout[sid]
        return _PAD + col * (_NODE_W + _COL_GAP), _PAD + row * (_NODE_H + _ROW_GAP)

    edges, nodes = [], []
    for st in plan.subtasks:
        x2, y2 = anchor(st.id)
        for d in st.depends_on:
            if d not in layout or d == st.id:
                continue
            x1, y1 = anchor(d)
            x1, y1, y2m = x1 + _NODE_W, y1 + _NODE_H / 2, y2 + _NODE_H / 2
            dx = max(24.0, (x2 - x1) / 2)
            edges.append(
                f'<path class="edge" data-from="{_e(d)}" data-to="{_e(st.id)}" '
                f'd="M{x1:.0f},{y1:.0f} C{x1 + dx:.0f},{y1:.0f} {x2 - dx:.0f},{y2m:.0f} {x2 - 2:.0f},{y2m:.0f}" '
                'fill="none" stroke="#8c959f" stroke-width="1.5" marker-end="url(#ao-arrow)"/>'
            )
        status, attempts = states.get(st.id, ("not run", 0))
        color = _STATUS_COLORS.get(status, "#9e9e9e")
        extra = f" · {attempts} attempts" if attempts > 1 else ""
        nodes.append(
            f'<g class="node" data-st="{_e(st.id)}" data-status="{_e(status)}" tabindex="0" '
            f'transform="translate({x2:.0f},{y2:.0f})"><title>{_e(st.id)}: {_e(st.description)}</title>'
            f'<rect width="{_NODE_W}" height="{_NODE_H}" rx="7" fill="#fff" stroke="{color}" stroke-width="2"/>'
            f'<rect width="6" height="{_NODE_H}" rx="3" fill="{color}"/>'
            f'<text x="14" y="19" font-size="13" font-weight="600">{_e(_short(st.id, 22))}</text>'
            f'<text x="14" y="37" font-size="11.5" fill="#57606a">{_e(_short(st.agent, 16))} · '
            f"{_e(status)}{_e(extra)}</text></g>"
        )
    ident = f' id="{_e(svg_id)}"' if svg_id else ""
    return (
        f'<svg{ident} class="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="plan DAG">'
        '<defs><marker id="ao-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8c959f"/>'
        "</marker></defs>" + "".join(edges) + "".join(nodes) + "</svg>"
    )


def _states(result: RunResult, plan: Plan) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for st in plan.subtasks:
        tries = [h for h in result.history if h.subtask_id == st.id]
        latest = result.results.get(st.id)
        status = latest.status if latest else (tries[-1].status if tries else "not run")
        out[st.id] = (status, len(tries))
    return out


# -- the timeline ---------------------------------------------------------------------------


def _tick_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


_STEP_COLORS = {"planner": "#0969da", "critic": "#8250df", "synthesizer": "#1a7f37"}


def _timeline_svg(result: RunResult, order: list[str], prices: Mapping[str, ModelPrice]) -> str:
    attempts = [h for h in result.history if h.finished_at or h.started_at]
    steps = [s for s in result.steps if s.started_at]
    if not attempts and not steps:
        return "<p>No sub-task ran.</p>"
    timed: list[SubTaskResult | StepRecord] = [*attempts, *steps]
    t0 = min(t.started_at for t in timed)
    span = max(max(t.finished_at for t in timed) - t0, 1e-3)
    scale = _CHART_W / span
    roles = [r for r in _STEP_COLORS if any(s.role == r for s in steps)]
    # the planner above the sub-tasks, the critic and the synthesizer below them
    rows: list[tuple[str, str | None]] = [("planner", None)] if "planner" in roles else []
    rows += [(sid, sid) for sid in order] + [(r, None) for r in roles if r != "planner"]
    height = _ROW_H * len(rows) + 34
    width = _LABEL_W + _CHART_W + 20
    parts = []
    step = _tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        x = _LABEL_W + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#eaeef2"/>'
            f'<text x="{x:.1f}" y="{height - 6}" font-size="10.5" fill="#57606a" '
            f'text-anchor="middle">{tick:g}s</text>'
        )
        tick += step
    first_start: dict[int, float] = {}
    for h in attempts:
        first_start[h.round] = min(first_start.get(h.round, h.started_at), h.started_at)
    for rnd, start in sorted(first_start.items()):
        if rnd > 1:
            x = _LABEL_W + (start - t0) * scale
            parts.append(
                f'<line class="round-mark" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" '
                f'stroke="#8250df" stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="10" '
                f'font-size="10.5" fill="#8250df">round {rnd}</text>'
            )

    def bar(t: SubTaskResult | StepRecord, color: str, tip: str, attrs: str, opacity: float = 0.9) -> str:
        x = _LABEL_W + (t.started_at - t0) * scale
        return (
            f'<rect class="bar" {attrs} x="{x:.1f}" y="{y + 3}" width="{max(2.0, t.duration * scale):.1f}" '
            f'height="{_BAR_H}" rx="3" fill="{color}" fill-opacity="{opacity}"><title>{_e(tip)}</title></rect>'
        )

    for i, (label, sid) in enumerate(rows):
        y = i * _ROW_H + 14
        bars = []
        if sid is None:  # a team role's calls
            for st in (s for s in steps if s.role == label):
                tip = (
                    f"{label} · round {st.round} · {st.duration:.2f}s · {st.usage.total_tokens} tokens"
                    f"{_cost_text(st, prices)}"
                )
                bars.append(bar(st, _STEP_COLORS[label], tip, f'data-round="{st.round}"'))
            parts.append(
                f'<g class="step-row" data-role="{label}"><text x="4" y="{y + 16}" font-size="12.5" '
                f'font-style="italic" fill="#57606a">{label}</text>' + "".join(bars) + "</g>"
            )
            continue
        for h in (a for a in attempts if a.subtask_id == sid):
            tip = (
                f"{sid} · attempt {h.attempts} · round {h.round} · {h.status} · "
                f"{h.duration:.2f}s · {h.usage.total_tokens} tokens{_cost_text(h, prices)}"
            )
            final = result.results.get(sid)
            superseded = final is not None and final.attempts != h.attempts
            bars.append(
                bar(
                    h,
                    _STATUS_COLORS.get(h.status, "#9e9e9e"),
                    tip,
                    f'data-attempt="{h.attempts}" data-round="{h.round}"',
                    0.45 if superseded else 0.9,
                )
            )
        agent = next((a.agent for a in attempts if a.subtask_id == sid), "")
        parts.append(
            f'<g class="row" data-st="{_e(sid)}" tabindex="0"><rect class="label-bg" x="0" y="{y}" '
            f'width="{width}" height="{_ROW_H - 2}" fill="transparent"/>'
            f'<text x="4" y="{y + 16}" font-size="12.5"><tspan font-weight="600">{_e(_short(sid, 16))}'
            f'</tspan><tspan fill="#57606a"> {_e(_short(agent, 12))}</tspan></text>'
            + (
                "".join(bars)
                or f'<text x="{_LABEL_W + 4}" y="{y + 16}" font-size="11" fill="#9e9e9e">not run</text>'
            )
            + "</g>"
        )
    return (
        f'<svg id="timeline" class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline">'
        + "".join(parts)
        + "</svg>"
    )


# -- details --------------------------------------------------------------------------------


def _cost_text(attempt: SubTaskResult | StepRecord, prices: Mapping[str, ModelPrice]) -> str:
    price = price_for(attempt.model, prices) if prices else None
    if price is None:  # the cost recorded during the run, under the team's prices
        return f" · {_money(attempt.usage.cost)}" if attempt.usage.cost else ""
    return f" · {_money(price.cost(attempt.usage))}"


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _attempt_html(h: SubTaskResult, prices: Mapping[str, ModelPrice]) -> str:
    u = h.usage
    head = (
        f"<b>attempt {h.attempts}</b> · round {h.round} · "
        f'<span class="badge" style="background:{_STATUS_COLORS.get(h.status, "#9e9e9e")}">'
        f"{_e(h.status)}</span> · model <code>{_e(h.model)}</code> · {h.duration:.2f} s · "
        f"{u.input_tokens} in / {u.output_tokens} out tokens · {u.calls} model calls"
        f"{_e(_cost_text(h, prices))}"
    )
    parts = [f'<div class="attempt" data-attempt="{h.attempts}"><div>{head}</div>']
    if h.error:
        parts.append(f"<div><b>error</b></div><pre>{_e(h.error)}</pre>")
    parts.append(f"<div><b>prompt</b></div><pre>{_e(h.prompt or '(not recorded)')}</pre>")
    if h.context:
        parts.append(f"<details><summary>input context</summary><pre>{_e(h.context)}</pre></details>")
    if h.tool_calls:
        rows = "".join(
            f"<tr><td><code>{_e(c.name)}</code></td><td><pre>{_e(json.dumps(c.args, ensure_ascii=False))}</pre></td>"
            f"<td>{_e(c.outcome)}{f' ×{c.executions}' if c.executions > 1 else ''}{' (in doubt)' if c.in_doubt else ''}"
            f"{(' (approved by ' + _e(c.approved_by) + ')') if c.approved_by else ''}<br><code>{_e(c.key)}</code></td>"
            f"<td><pre>{_e(c.error or c.output)}</pre></td></tr>"
            for c in h.tool_calls
        )
        parts.append(
            f"<div><b>tool calls</b></div><table><tr><th>tool</th><th>args</th><th>outcome · key</th>"
            f"<th>result</th></tr>{rows}</table>"
        )
    if h.data is not None:
        parts.append(_data_html(h.data, h.output))
    else:
        parts.append(f"<div><b>output</b></div><pre>{_e(h.output or '(empty)')}</pre>")
    parts.append("</div>")
    return "".join(parts)


def _data_html(data: Mapping[str, Any], as_json: str) -> str:
    """A typed answer: its fields as a table (values other than text as JSON), and the JSON."""
    rows = "".join(
        f'<tr><td><code>{_e(k)}</code></td><td class="data-value">'
        f"{_e(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))}</td></tr>"
        for k, v in data.items()
    )
    return (
        f'<div><b>data</b> <span class="meta">(typed output)</span></div>'
        f'<table class="data"><tr><th>field</th><th>value</th></tr>{rows}</table>'
        f"<details><summary>as JSON</summary><pre>{_e(as_json)}</pre></details>"
    )


def _details_html(result: RunResult, order: list[str], prices: Mapping[str, ModelPrice]) -> str:
    described: dict[str, SubTask] = {}
    for plan in [*result.plans, *([result.plan] if result.plan else [])]:
        described.update((s.id, s) for s in plan.subtasks)
    blocks = []
    for sid in order:
        st = described.get(sid)
        tries = [h for h in result.history if h.subtask_id == sid]
        tokens = sum(h.usage.total_tokens for h in tries)
        summary = (
            f'{_e(sid)} <span class="meta">[{_e(st.agent if st else tries[0].agent)}] · '
            f"{len(tries)} attempt{'s' if len(tries) != 1 else ''} · {tokens} tokens</span>"
        )
        body = []
        if st is not None:
            body.append(f"<p>{_e(st.description)}</p>")
            if st.depends_on:
                body.append(f'<p class="meta">depends on: {_e(", ".join(st.depends_on))}</p>')
            if st.expected_output:
                body.append(f'<p class="meta">expected output: {_e(st.expected_output)}</p>')
        body.extend(_attempt_html(h, prices) for h in tries)
        if not tries:
            body.append("<p>(not run)</p>")
        blocks.append(
            f'<details class="detail" data-detail="{_e(sid)}"><summary>{summary}</summary>'
            + "".join(body)
            + "</details>"
        )
    return "".join(blocks)


# -- usage ----------------------------------------------------------------------------------


def _usage_table(
    title: str, rows: Iterable[tuple[str, TokenUsage]], costs: Mapping[str, float] | None
) -> str:
    head = "".join(f'<th class="num">{c}</th>' for c in ("calls", "input", "output", "total"))
    if costs is not None:
        head += '<th class="num">cost</th>'
    body = []
    for name, u in rows:
        cells = "".join(
            f'<td class="num">{v}</td>' for v in (u.calls, u.input_tokens, u.output_tokens, u.total_tokens)
        )
        if costs is not None:
            cells += f'<td class="num">{_money(costs[name]) if name in costs else "–"}</td>'
        body.append(f"<tr><td>{_e(name)}</td>{cells}</tr>")
    return f"<table><tr><th>{_e(title)}</th>{head}</tr>{''.join(body)}</table>"


def usage_html(result: RunResult, prices: Mapping[str, ModelPrice]) -> str:
    usage = result.usage
    # `prices` re-prices the tokens per model; without them, the costs recorded during the run
    cost: Cost | None = usage.cost(prices) if prices else usage.cost() if usage.total.cost else None
    by_role = sorted(usage.by_role.items())
    by_role.append(("total", usage.total))
    by_model = sorted(usage.by_model.items())
    model_costs = dict(cost.by_model) if cost else None
    role_costs = {**cost.by_role, "total": cost.total} if cost and cost.by_role else None
    out = [
        '<div class="usage">',
        _usage_table("role / agent", by_role, role_costs),
        _usage_table("model", by_model, model_costs),
        "</div>",
    ]
    if result.quote is not None:
        q = result.quote
        out.append(
            f'<p class="meta">quoted before the work: {_e(q.describe())}; actual: '
            f"{usage.total.calls} calls, {usage.total.total_tokens:,} tokens</p>"
        )
    if cost is not None:
        out.append(
            f"<p><b>cost: {_money(cost.total)}</b>"
            + (
                f' <span class="meta">(no price for {_e(", ".join(cost.unpriced))})</span>'
                if cost.unpriced
                else ""
            )
            + "</p>"
        )
    return "".join(out)


# -- pages ----------------------------------------------------------------------------------

_STATUS_BADGE = {
    "completed": "#2e7d32",
    "max_rounds": "#b7791f",
    "budget_exhausted": "#b7791f",
    "failed": "#c62828",
    "interrupted": "#0969da",
    "rejected": "#6e7781",
}


def _subtask_order(result: RunResult) -> list[str]:
    order: list[str] = []
    for plan in [*result.plans, *([result.plan] if result.plan else [])]:
        order.extend(st.id for st in plan.subtasks if st.id not in order)
    order.extend(h.subtask_id for h in result.history if h.subtask_id not in order)
    if result.plan is not None:  # sub-tasks of the final plan first, in plan order
        final = [st.id for st in result.plan.subtasks]
        order = final + [s for s in order if s not in final]
    return order


def _verdicts_html(result: RunResult) -> str:
    if not result.verdicts:
        return "<p>No critic review.</p>"
    items = []
    for i, v in enumerate(result.verdicts, start=1):
        color = {"accept": "#2e7d32", "revise": "#8250df", "replan": "#b7791f"}[v.decision]
        redo = f" → {_e(', '.join(v.revise))}" if v.revise else ""
        items.append(
            f'<li class="verdict" data-round="{i}">round {i}: <span class="badge" '
            f'style="background:{color}">{_e(v.decision)}</span>{redo}'
            + (f"<div>{_e(v.feedback)}</div>" if v.feedback else "")
            + "</li>"
        )
    return "<ol>" + "".join(items) + "</ol>"


def _body(result: RunResult, prices: Mapping[str, ModelPrice], heading: str) -> str:
    order = _subtask_order(result)
    attempts = [h for h in result.history if h.started_at]
    wall = (max(h.finished_at for h in attempts) - min(h.started_at for h in attempts)) if attempts else 0.0
    busy = sum(h.duration for h in attempts)
    parts = [
        f"<h1>{_e(heading)}</h1>",
        f"<p><b>Goal:</b> {_e(result.goal)}</p>",
        f'<p class="meta"><span class="badge" style="background:{_STATUS_BADGE.get(result.status, "#6e7781")}">'
        f"{_e(result.status)}</span> · {result.rounds} round{'s' if result.rounds != 1 else ''} · "
        f"{len(result.history)} attempts · sub-task time {busy:.2f} s in {wall:.2f} s wall"
        f"{f' (×{busy / wall:.1f} parallel)' if wall > 0 and busy / wall >= 1.05 else ''} · "
        f"{result.usage.total.total_tokens} tokens · thread <code>{_e(result.thread_id)}</code>"
        + (f" · run <code>{_e(result.run_id)}</code>" if result.run_id else "")
        + "</p>",
    ]
    if result.error:
        parts.append(f"<p><b>Error:</b> {_e(result.error)}</p>")
    parts.append(f'<h2>Answer</h2><pre class="answer">{_e(result.answer or "(no answer)")}</pre>')
    if result.plan is not None:
        parts.append("<h2>Plan</h2>")
        if result.plan.rationale:
            parts.append(f'<p class="meta">{_e(result.plan.rationale)}</p>')
        parts.append(
            f'<div class="scroll">{dag_svg(result.plan, _states(result, result.plan), svg_id="dag")}</div>'
        )
        if len(result.plans) > 1:
            older = "".join(
                f'<details class="plan-round"><summary>plan of round {i}</summary><div class="scroll">'
                f"{dag_svg(p, _states(result, p))}</div></details>"
                for i, p in enumerate(result.plans[:-1], start=1)
            )
            parts.append(f"<div>{older}</div>")
    parts.append("<h2>Timeline</h2>" + f'<div class="scroll">{_timeline_svg(result, order, prices)}</div>')
    parts.append("<h2>Critic</h2>" + _verdicts_html(result))
    parts.append("<h2>Usage</h2>" + usage_html(result, prices))
    parts.append(
        '<h2>Sub-tasks</h2><p class="meta">Click a node or a timeline row to open it.</p>'
        + _details_html(result, order, prices)
    )
    return "".join(parts)


def html_page(title: str, body: str, *, script: str = "", connect: bool = False) -> str:
    """A self-contained HTML page: agentorch's stylesheet inline, nothing loaded from anywhere
    (a Content-Security-Policy says so), and `script` inline if given; `connect`: the script may
    fetch from the page's own server (the live view). Every agentorch page (run reports, eval
    reports, the live view) is built by this one function."""
    scripts = "script-src 'unsafe-inline'; " if script else ""
    if connect:
        scripts += "connect-src 'self'; "
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'; {scripts}img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}body{{margin:16px 24px;background:#fff}}</style>"
        f'</head><body><div class="agentorch">{body}'
        + (f"<script>{script}</script>" if script else "")
        + "</div></body></html>\n"
    )


def report_html(
    result: RunResult,
    *,
    prices: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """The full, self-contained HTML page of a run (see `RunResult.to_html`)."""
    heading = title or "agentorch run report"
    body = _body(result, normalize_prices(prices), heading)
    return html_page(f"{heading} · {_short(result.goal, 60)}", body, script=_SCRIPT)


def result_fragment(result: RunResult) -> str:
    """A run as an HTML fragment for Jupyter: no script; sub-task blocks open on click."""
    return f'<div class="agentorch"><style>{_CSS}</style>{_body(result, {}, "Run")}</div>'


def plan_html(plan: Plan) -> str:
    """A plan as an HTML fragment: the DAG and a table of its sub-tasks."""
    rows = "".join(
        f"<tr><td><code>{_e(st.id)}</code></td><td>{_e(st.agent)}</td>"
        f"<td>{_e(', '.join(st.depends_on))}</td><td>{_e(st.description)}</td></tr>"
        for st in plan.subtasks
    )
    svg = dag_svg(plan, {st.id: ("not run", 0) for st in plan.subtasks})
    rationale = f'<p class="meta">{_e(plan.rationale)}</p>' if plan.rationale else ""
    return (
        f'<div class="agentorch"><style>{_CSS}</style>{rationale}<div class="scroll">{svg}</div>'
        f"<table><tr><th>id</th><th>agent</th><th>depends on</th><th>description</th></tr>"
        f"{rows}</table></div>"
    )


def team_html(team: Team) -> str:
    """A team as an HTML fragment: its agents, settings and LangGraph graph (Mermaid text)."""
    rows = []
    for agent in team.agents:
        model_name = " → ".join(model_label(m) for m in team.models_for(agent.name))
        tools = ", ".join(t.name for t in agent.tools) or "–"
        typed = f' <span class="meta">(output: {_e(agent.output.__name__)})</span>' if agent.output else ""
        rows.append(
            f"<tr><td><b>{_e(agent.name)}</b></td><td>{_e(agent.role)}{typed}</td>"
            f"<td>{_e(tools)}</td><td><code>{_e(model_name)}</code></td></tr>"
        )
    settings = (
        f"max_rounds={team.max_rounds} · critic={'on' if team.critic else 'off'} · "
        f"approve_plan={'on' if team.approve_plan else 'off'} · "
        f"memory={type(team.memory).__name__ if team.memory is not None else 'none'}"
    )
    return (
        f'<div class="agentorch"><style>{_CSS}</style><h2>Team {_e(team.name)}</h2>'
        f'<p class="meta">{_e(settings)}</p><table><tr><th>agent</th><th>role</th><th>tools</th>'
        f"<th>model</th></tr>{''.join(rows)}</table><details><summary>LangGraph graph (Mermaid)"
        f'</summary><pre class="mermaid-source">{_e(team.draw())}</pre></details></div>'
    )
