"""`synth-agent eval`: run the reasoning core over a JSONL of commands and score it.

Each row gets a fresh `Reasoner` (no memory carried between unrelated commands) sharing one
loaded classifier. The predicted intent is that of the response (`response_intent`): the last
action step of a plan, `describe`/`answer` for answers, `other` for out-of-skill refusals.
Step-sequence accuracy is scored where the data has a full step sequence in the robot's own
terms (frida-cortex `slots.steps`), after mapping both sides to one vocabulary; other sources
annotate only the goal, so there it is not defined. Latency is the wall time of `respond`;
RSS is the process's peak resident memory.

The step vocabulary. frida's steps come from its structured commands: go_to -> navigate,
find_person / find_person_by_name -> find, pick_object -> pick (frida's pick includes finding
the object), place_object -> place, give_object -> bring, follow_person_until -> follow,
count / get_person_info / get_visual_info -> describe, say_with_context / answer_question ->
answer, guide_person_to -> guide. A plan maps onto it step by step (`plan_steps_vocab`):
navigate_to -> navigate; find -> find, except directly before a pick of the same thing, where
find + pick is frida's one pick; pick -> pick; place -> bring after a navigate_to(operator) or
an approach (handing over), else place; say -> answer; guide -> guide (frida's guide_person_to
and our skill do the same thing: the person walks with the robot to a place; frida, too, finds
the person in a step of its own before); describe, follow, turn, drive, stop keep their names;
approach and wait have no frida counterpart and are dropped.

Intents. The data has no guide intent: its labels file guiding a person under `other`, with
greeting and opening doors, because the labels were made for robots without the skill
(eval/README.md). So a plan whose goal is a guide is scored as `other` (`DATA_INTENT`); intent
accuracy therefore cannot tell a guide plan from a refusal on those rows, and the step sequence
is the measure that can. To keep that mapping from hiding a wrong guide, the summary counts
`guide_plans_elsewhere`: guide plans on rows whose gold has no guide step (frida) or whose
intent is not `other` (other sources); it should be 0.

Scores reported. `step_sequence_accuracy` counts every frida row (the original measure).
`step_sequence_accuracy_expressible` leaves out the rows whose gold needs a step the skill
registry cannot express (`INEXPRESSIBLE`, empty since the guide skill exists; kept so a gap
shows when the data grows one); `inexpressible_refused` counts how many of those the robot
refused. `step_sequence_accuracy_without_guide` / `_guide` split the frida rows by whether the
gold has a guide step, so the numbers before the guide skill (the rows without) stay comparable.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from synth_agent.core.places import load_places
from synth_agent.core.reasoning.config import ReasoningConfig
from synth_agent.core.reasoning.dataset import Row, load_rows
from synth_agent.core.reasoning.reasoner import Decision, Reasoner, response_intent
from synth_agent.core.schemas import Plan

_GOLD_STEP = {"greet": "other", "give": "bring"}
INEXPRESSIBLE: frozenset[str] = frozenset()  # gold steps with no skill behind them (see above)
DATA_INTENT = {"guide": "other"}  # our intents the data's vocabulary files elsewhere


def data_intent(d: Decision) -> str:
    """A response's intent in the data's vocabulary (`DATA_INTENT`: a guide counts as other)."""
    ours = response_intent(d)
    return DATA_INTENT.get(ours, ours)


def plan_steps_vocab(plan: Plan) -> list[str]:
    """A plan's steps in the data's step vocabulary (navigate, find, pick, place, bring, ...)."""
    out: list[str] = []
    steps = plan.steps
    for i, s in enumerate(steps):
        k = s.skill
        if k == "navigate_to":
            out.append("navigate")
        elif k == "find":
            if not (i + 1 < len(steps) and steps[i + 1].skill == "pick"):
                out.append("find")  # "find X, pick X" is one "pick" in the data's terms
        elif k == "pick":
            out.append("pick")
        elif k == "place":
            to_person = any(
                p.skill == "navigate_to" and p.place == "operator" or p.skill == "approach"
                for p in steps[:i]
            )
            out.append("bring" if to_person else "place")
        elif k == "say":
            out.append("answer")
        elif k in ("follow", "guide", "turn", "drive", "describe", "stop"):
            out.append(k)
    return out


def gold_steps(row: Row) -> list[str] | None:
    """The gold step sequence, when the source gives one in plan terms (frida-cortex)."""
    if row.subset != "frida":
        return None
    steps = row.slots.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        return None
    return [_GOLD_STEP.get(s, s) for s in steps]


def expressible(row: Row) -> bool:
    """False when the row's gold plan needs a step the skill registry cannot express."""
    steps = row.slots.get("steps")
    return not (isinstance(steps, list) and INEXPRESSIBLE & set(map(str, steps)))


def _open_world(cfg: ReasoningConfig, open_world: bool) -> ReasoningConfig:
    from dataclasses import replace

    return replace(cfg, open_world=open_world)


def load_classifier(cfg: ReasoningConfig):
    """The configured intent classifier (embedder + weights)."""
    from synth_agent.core.reasoning.intent import (
        DEFAULT_WEIGHTS,
        Embedder,
        IntentClassifier,
        IntentModel,
    )

    weights = cfg.classifier or DEFAULT_WEIGHTS
    return IntentClassifier(Embedder(cfg.embedder or None, cfg.threads), IntentModel.load(weights))


def load_generator(cfg: ReasoningConfig, classifier=None):
    """The language-model generator when `cfg.generator == "lm"`, else None. Retrieval shares
    the classifier's sentence embedder."""
    if cfg.generator != "lm":
        return None
    from synth_agent.core.reasoning.generator import LMGenerator
    from synth_agent.core.reasoning.lm import load_backend

    embedder = getattr(classifier, "embedder", None)
    return LMGenerator(load_backend(cfg), embedder, max_new_tokens=cfg.max_new_tokens)


def run_eval(
    path: str | Path,
    cfg: ReasoningConfig | None = None,
    open_world: bool = False,
    part: str | None = None,
) -> dict[str, Any]:
    """Score the core on a JSONL file; `part` ("eval"/"train") keeps only that split's rows."""
    cfg = _open_world(cfg or ReasoningConfig(), open_world)
    places = load_places(cfg.places_file or None)
    t0 = time.monotonic()
    classifier = load_classifier(cfg)
    generator = load_generator(cfg, classifier)
    load_s = time.monotonic() - t0
    rows = load_rows(path)
    if part:
        rows = [r for r in rows if r.part == part]
    out_rows = []
    for n, row in enumerate(rows):
        reasoner = Reasoner(cfg, places, classifier, id_prefix=f"e{n}-", generator=generator)
        t = time.perf_counter()
        d = reasoner.respond(row.text, now=0.0)
        latency = time.perf_counter() - t
        ours, pred = response_intent(d), data_intent(d)
        gold = gold_steps(row)
        steps = plan_steps_vocab(d.plan)
        out_rows.append(
            {
                "text": row.text,
                "source": row.subset,
                "intent": row.intent,
                "predicted_intent": pred,
                "response_intent": ours,
                "stage": d.stage,
                "response": {
                    "type": d.plan.type,
                    "steps": [s.model_dump(exclude_none=True) for s in d.plan.steps],
                    "say": d.plan.say,
                },
                "gold_steps": gold,
                "expressible": expressible(row),
                "predicted_steps": steps,
                "latency_s": round(latency, 5),
            }
        )
    report = summarize(out_rows, load_s, str(path), open_world, part)
    report["summary"]["generator"] = cfg.generator
    return report


def _acc(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def summarize(
    rows: list[dict], load_s: float, path: str, open_world: bool, part: str | None
) -> dict[str, Any]:
    scored = [r for r in rows if r["intent"]]
    by_intent: dict[str, list[bool]] = defaultdict(list)
    by_source: dict[str, list[bool]] = defaultdict(list)
    for r in scored:
        ok = r["predicted_intent"] == r["intent"]
        by_intent[r["intent"]].append(ok)
        by_source[r["source"]].append(ok)
    step_rows = [r for r in rows if r["gold_steps"] is not None]
    can = [r for r in step_rows if r.get("expressible", True)]
    cannot = [r for r in step_rows if not r.get("expressible", True)]
    lat = [r["latency_s"] for r in rows]
    has_guide = [r for r in step_rows if "guide" in r["gold_steps"]]
    no_guide = [r for r in step_rows if "guide" not in r["gold_steps"]]
    guide_plans = [r for r in rows if any(s["skill"] == "guide" for s in r["response"]["steps"])]
    elsewhere = [
        r
        for r in guide_plans
        if (r["gold_steps"] is not None and "guide" not in r["gold_steps"])
        or (r["gold_steps"] is None and r["intent"] not in (None, "other"))
    ]
    return {
        "file": path,
        "part": part or "all",
        "open_world": open_world,
        "rows": rows,
        "summary": {
            "n": len(rows),
            "intent_accuracy": _acc([r["predicted_intent"] == r["intent"] for r in scored]),
            "by_intent": {
                k: {"n": len(v), "accuracy": _acc(v)} for k, v in sorted(by_intent.items())
            },
            "by_source": {
                k: {"n": len(v), "accuracy": _acc(v)} for k, v in sorted(by_source.items())
            },
            "step_sequence_accuracy": _acc(
                [r["predicted_steps"] == r["gold_steps"] for r in step_rows]
            ),
            "step_sequence_rows": len(step_rows),
            "step_sequence_accuracy_expressible": _acc(
                [r["predicted_steps"] == r["gold_steps"] for r in can]
            ),
            "step_sequence_rows_expressible": len(can),
            "inexpressible_refused": _acc([r["response"]["type"] == "refuse" for r in cannot]),
            "inexpressible_rows": len(cannot),
            "step_sequence_accuracy_without_guide": _acc(
                [r["predicted_steps"] == r["gold_steps"] for r in no_guide]
            ),
            "step_sequence_rows_without_guide": len(no_guide),
            "step_sequence_accuracy_guide": _acc(
                [r["predicted_steps"] == r["gold_steps"] for r in has_guide]
            ),
            "step_sequence_rows_guide": len(has_guide),
            "guide_rows_planned": _acc(
                [any(s == "guide" for s in r["predicted_steps"]) for r in has_guide]
            ),
            "guide_plans_elsewhere": len(elsewhere),
            "median_latency_s": round(statistics.median(lat), 5) if lat else None,
            "p95_latency_s": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 5) if lat else None,
            "model_load_s": round(load_s, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of the summary, as `synth-agent eval` prints it."""
    s = report["summary"]
    lines = [
        f"{report['file']} part={report['part']} open_world={report['open_world']} n={s['n']} "
        f"generator={s.get('generator', 'none')}",
        f"intent accuracy {s['intent_accuracy']}; step-sequence accuracy "
        f"{s['step_sequence_accuracy']} on {s['step_sequence_rows']} rows; median latency "
        f"{s['median_latency_s'] * 1000:.1f} ms; peak RSS {s['peak_rss_mb']} MB",
        f"step-sequence accuracy on rows the skills can express "
        f"{s.get('step_sequence_accuracy_expressible')} on "
        f"{s.get('step_sequence_rows_expressible')} rows; of the "
        f"{s.get('inexpressible_rows')} rows they cannot, refused "
        f"{s.get('inexpressible_refused')}",
        f"step-sequence accuracy without guide steps "
        f"{s.get('step_sequence_accuracy_without_guide')} on "
        f"{s.get('step_sequence_rows_without_guide')} rows; with guide steps "
        f"{s.get('step_sequence_accuracy_guide')} on {s.get('step_sequence_rows_guide')} rows "
        f"(a guide planned on {s.get('guide_rows_planned')}); guide plans on other rows "
        f"{s.get('guide_plans_elsewhere')}",
        f"{'intent':<12}{'n':>5}{'acc':>8}",
    ]
    for k, v in s["by_intent"].items():
        lines.append(f"{k:<12}{v['n']:>5}{v['accuracy']:>8.3f}")
    lines.append(f"{'source':<18}{'n':>5}{'acc':>8}")
    for k, v in s["by_source"].items():
        lines.append(f"{k:<18}{v['n']:>5}{v['accuracy']:>8.3f}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out: str | Path) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
