"""Write README.md's topics and parameters tables from the code, so they cannot drift.

    .venv/bin/python tools/gen_readme_tables.py           # rewrite the generated parts
    .venv/bin/python tools/gen_readme_tables.py --check   # exit 1 if README.md is out of date

Only the text between `<!-- BEGIN GENERATED: NAME -->` and `<!-- END GENERATED: NAME -->` is
replaced (NAME is `topics` or `parameters`); test/core/test_readme_tables.py fails when it
differs from what this script writes.

Where each column comes from:
- topics: name, type and QoS from synth_agent/core/contract.py; publishers and subscribers
  from the node modules themselves (synth_agent/nodes/<node>_node.py), read with `ast`: every
  `create_publisher` / `create_subscription` call that names a `contract.X` topic, directly or
  through the list a loop subscribes from, plus the command sources the safety gate subscribes
  to by configuration (SafetyGateConfig.sources/locks topics);
- parameters: every field of each node's config dataclass (graph.CONFIG_CLASSES, nested ones
  dotted as ROS names them) with its default; the unit from the name's suffix (`_s`, `_mps`,
  ...); the description from the field's inline comment in config/<node>.yaml; the comments
  above fields in the dataclass as note rows.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from synth_agent.core import contract  # noqa: E402
from synth_agent.core.config import defaults_flat  # noqa: E402
from synth_agent.graph import CONFIG_CLASSES, NODE_NAMES  # noqa: E402

README = ROOT / "README.md"
NODES_DIR = ROOT / "synth_agent" / "nodes"
CONFIG_DIR = ROOT / "config"
QOS_WORDS = {"reliable": "reliable", "best_effort": "best effort"}
# Unit by name suffix, longest first.
UNITS = (
    ("_mps2", "m/s²"),
    ("_radps2", "rad/s²"),
    ("_radps", "rad/s"),
    ("_mps", "m/s"),
    ("_hz", "Hz"),
    ("_deg", "deg"),
    ("_rad", "rad"),
    ("_ms", "ms"),
    ("_m", "m"),
    ("_s", "s"),
)


# --- topics ---------------------------------------------------------------------------------


def _contract_refs(node: ast.AST) -> list[str]:
    """Names X of every `contract.X` inside `node`."""
    return [
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "contract"
    ]


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def endpoints(source: str) -> tuple[set[str], set[str]]:
    """(published, subscribed) contract topic attribute names in a node module's source."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found: dict[str, set[str]] = {"create_publisher": set(), "create_subscription": set()}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        kind = call.func.attr
        if kind not in found:
            continue
        topic_args = call.args[1:2] + [k.value for k in call.keywords if k.arg == "topic"]
        refs = [r for a in topic_args for r in _contract_refs(a)]
        if not refs:  # e.g. `for msg_type, topic, cb in inputs: create_subscription(...)`
            refs = _loop_refs(call, parents)
        found[kind].update(refs)
    return found["create_publisher"], found["create_subscription"]


def _loop_refs(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> list[str]:
    """contract refs of the list a loop around `call` iterates, if it is a local name."""
    node: ast.AST | None = call
    while node is not None and not isinstance(node, ast.For):
        node = parents.get(node)
    if node is None or not isinstance(node.iter, ast.Name):
        return []
    func = node
    while func is not None and not isinstance(func, ast.FunctionDef):
        func = parents.get(func)
    for stmt in ast.walk(func) if func is not None else []:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == node.iter.id for t in stmt.targets
        ):
            return _contract_refs(stmt.value)
    return []


def configured_subscriptions() -> dict[str, set[str]]:
    """Topics a node subscribes to because its configuration names them (defaults)."""
    from synth_agent.core.safety import SafetyGateConfig

    gate = SafetyGateConfig()
    return {"safety_gate": set(gate.sources.topics) | set(gate.locks.topics)}


def topic_endpoints() -> dict[str, tuple[list[str], list[str]]]:
    """contract topic name -> (publishing nodes, subscribing nodes), in graph order."""
    by_attr = {attr: t for attr, t in vars(contract).items() if isinstance(t, contract.Topic)}
    pubs: dict[str, list[str]] = {t.name: [] for t in contract.TOPICS}
    subs: dict[str, list[str]] = {t.name: [] for t in contract.TOPICS}
    configured = configured_subscriptions()
    for node in NODE_NAMES:
        path = NODES_DIR / f"{node}_node.py"
        published, subscribed = endpoints(path.read_text())
        for attr in sorted(published):
            pubs[by_attr[attr].name].append(node)
        names = {by_attr[a].name for a in subscribed if a in by_attr}
        for name in sorted(names | (configured.get(node, set()) & set(subs))):
            subs[name].append(node)
    return {name: (pubs[name], subs[name]) for name in pubs}


def qos_text(kind: str) -> str:
    q = contract.QOS[kind]
    words = [QOS_WORDS[q.reliability]]
    if q.durability == "transient_local":
        words.append("transient local")
    return f"{', '.join(words)}, depth {q.depth}"


def topics_table() -> str:
    ends = topic_endpoints()
    lines = [
        "| topic | type | QoS | published by | subscribed by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in contract.TOPICS:
        pubs, subs = ends[t.name]
        lines.append(
            f"| `{t.name}` | {t.msg_type} | {qos_text(t.qos)} | "
            f"{', '.join(pubs) or '(outside)'} | {', '.join(subs) or '(outside)'} |"
        )
    services = [v for v in vars(contract).values() if isinstance(v, tuple) and len(v) == 2]
    services = [s for s in services if isinstance(s[0], str) and "/srv/" in s[1]]
    lines += [
        "",
        "Services: " + ", ".join(f"`{name}` ({kind})" for name, kind in services) + ".",
        "`(outside)`: the operator, the robot's drivers or another stack; "
        "`/diagnostics` and `/clock` are global, everything else moves with the namespace.",
    ]
    return "\n".join(lines)


# --- parameters -----------------------------------------------------------------------------


def yaml_comments(path: Path) -> dict[str, str]:
    """Dotted parameter name -> its inline comment in a params file."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        m = re.match(r"^(\s*)([^\s:#]+):(.*)$", line)
        if not m:
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if "#" in rest and not rest.strip().startswith("#"):
            out[".".join(k for _, k in stack[2:])] = rest.split("#", 1)[1].strip()
    return out


def field_comments(cls: type, prefix: str = "") -> dict[str, str]:
    """Dotted field name -> the comment block just above it in the dataclass source. Such a
    block may head a group of fields or explain one, so the table shows it as a note row
    before the field rather than guessing which."""
    out: dict[str, str] = {}
    try:
        lines = [ln.strip() for ln in inspect.getsourcelines(cls)[0]]
    except (OSError, TypeError):
        return out
    block: list[str] = []
    for text in lines:
        if text.startswith("#"):
            block.append(text.lstrip("#").strip())
            continue
        m = re.match(r"^(\w+)\s*:", text)
        if m and block:
            out[prefix + m.group(1)] = " ".join(block)
        block = []
    for f in dataclasses.fields(cls):
        factory = f.default_factory
        if isinstance(factory, type) and dataclasses.is_dataclass(factory):
            out.update(field_comments(factory, f"{prefix}{f.name}."))
    return out


def unit(name: str) -> str:
    leaf = name.rsplit(".", 1)[-1]
    return next((u for suffix, u in UNITS if leaf.endswith(suffix)), "")


def value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if value == "":
        return '""'
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def parameters_table() -> str:
    parts = [
        "Every parameter, its default (config/<node>.yaml mirrors these) and unit; set them "
        "with `--ros-args -p name:=value`, a params file, or `synth-agent up --params FILE`.",
    ]
    for node, ref in CONFIG_CLASSES.items():
        module, name = ref.split(":")
        cls = getattr(importlib.import_module(module), name)
        notes = field_comments(cls)
        described = yaml_comments(CONFIG_DIR / f"{node}.yaml")
        defaults = defaults_flat(cls)
        parts += [
            "",
            f"<details><summary><code>{node}</code> ({len(defaults)} parameters, "
            f"<code>{ref.replace(':', '.')}</code>)</summary>",
            "",
            "| parameter | default | unit | description |",
            "| --- | --- | --- | --- |",
        ]
        for key, value in defaults.items():
            if key in notes:
                parts.append(f"| *{_cell(notes[key])}* | | | |")
            parts.append(
                f"| `{key}` | `{_cell(value_text(value))}` | {unit(key)} | "
                f"{_cell(described.get(key, ''))} |"
            )
        parts += ["", "</details>"]
    return "\n".join(parts)


# --- README ---------------------------------------------------------------------------------

TABLES = {"topics": topics_table, "parameters": parameters_table}


def render(text: str) -> str:
    """README text with every generated block rewritten."""
    for name, build in TABLES.items():
        begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no {begin} ... {end} block")
        block = f"{begin}\n<!-- written by tools/gen_readme_tables.py; do not edit -->\n"
        block += f"{build()}\n{end}"
        text = pattern.sub(lambda _m, b=block: b, text, count=1)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    current = README.read_text()
    wanted = render(current)
    if current == wanted:
        return 0
    if args.check:
        print("README.md is out of date: run tools/gen_readme_tables.py", file=sys.stderr)
        return 1
    README.write_text(wanted)
    print("README.md: tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
