"""`synth-agent`: the operator's and integrator's command line.

    synth-agent up [--sim] [--params FILE] [--namespace NS] [--model PATH]
    synth-agent say TEXT [--namespace NS] [--timeout S]
    synth-agent say --audio FILE.wav [--namespace NS] [--timeout S]
    synth-agent demo [COMMAND]
    synth-agent sim --view [--out DIR]
    synth-agent bench NAME [ARGS...]
    synth-agent eval FILE.jsonl --report OUT.json [--open-world] [--part eval|train] [--generator G]
    synth-agent serve [--host 127.0.0.1] [--port N] [--model NAME|DIR] [--quantization Q]
    synth-agent record OUT [--duration S] [--topics T,...] [--images] [--namespace NS]
    synth-agent play BAG [--rate R] [--topics T,...] [--namespace NS] [--delay S]

Every subcommand applies the safe middleware defaults (discovery on localhost unless the user
set ROS_AUTOMATIC_DISCOVERY_RANGE) before rclpy starts.
"""

from __future__ import annotations

import argparse
import runpy
import signal
import sys
import threading
import time
from pathlib import Path

from synth_agent.demo import DEFAULT_COMMAND
from synth_agent.env import apply_safe_defaults
from synth_agent.graph import nodes, normalize_namespace
from synth_agent.paths import SOURCE_ROOT

EXIT_OK, EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_TIMEOUT = 0, 1, 3, 124


class GraphWatcher:
    """A hidden rclpy node in the CLI process that can list the nodes in the ROS graph."""

    def __init__(self, name: str = "_synth_agent_cli") -> None:
        import rclpy
        from rclpy.context import Context

        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)

    def node_names(self) -> set[str]:
        return {(ns.rstrip("/") + "/" + n) for n, ns in self.node.get_node_names_and_namespaces()}

    def close(self) -> None:
        import rclpy

        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def cmd_up(args: argparse.Namespace) -> int:
    from synth_agent.launcher import Launcher

    specs = nodes(sim=args.sim, model=args.model, params_file=args.params)
    launcher = Launcher(specs, namespace=args.namespace or "")

    def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        launcher.say(f"received {signal.Signals(signum).name}, stopping (gate last)")
        launcher.request_stop()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    watcher = GraphWatcher()
    if launcher.refuse_if_running(watcher.node_names):
        watcher.close()
        return EXIT_UNAVAILABLE
    launcher.start()
    if not launcher.children:
        launcher.say("no node of this build could be started", colour="31")
        watcher.close()
        return EXIT_UNAVAILABLE
    try:
        ready = launcher.wait_ready(watcher.node_names, timeout_s=args.ready_timeout)
        while not launcher.stopping:
            launcher.poll()
            if all(c.proc.poll() is not None for c in launcher.children):
                launcher.say("every node has exited", colour="31")
                break
            time.sleep(0.2)
    finally:
        watcher.close()
        codes = launcher.stop()
    crashed = any(c not in (0, None, -2, 130) for c in codes.values())
    return EXIT_FAILED if (crashed or not ready) else EXIT_OK


class _RosSession:
    """An rclpy context, one node and an executor for a CLI command; SIGTERM acts like Ctrl-C."""

    def __init__(self, name: str, namespace: str = "") -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = Context()
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        # Both set explicitly: a shell script's background job (`synth-agent record … &`)
        # starts with SIGINT ignored, and `kill -INT` must still end it cleanly.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        ns = normalize_namespace(namespace)
        self.node = rclpy.create_node(name, namespace=ns or None, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin(self, seconds: float) -> None:
        self.executor.spin_once(timeout_sec=max(0.0, seconds))

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def text_from_audio(path: str) -> str | None:
    """`say --audio`: the file recognised with the voice node's recogniser and config, or None
    (reason printed) when it cannot be."""
    from synth_agent.core.config import load_config
    from synth_agent.core.voice import (
        AudioError,
        ModelError,
        Transcriber,
        VoiceConfig,
        transcribe_file,
    )
    from synth_agent.paths import config_path

    try:
        yaml = config_path("voice")
        config = load_config(VoiceConfig, yaml if yaml.is_file() else None, "voice")
        heard = transcribe_file(path, Transcriber(config))
    except (AudioError, ModelError, ValueError) as e:
        print(f"say --audio: {e}", file=sys.stderr)
        return None
    print(f"[heard] {heard.text} (confidence {heard.confidence:.2f})", flush=True)
    return heard.text


def cmd_say(args: argparse.Namespace) -> int:
    if args.audio and args.text:
        print("say: give TEXT or --audio FILE, not both", file=sys.stderr)
        return EXIT_FAILED
    if args.audio:
        args.text = text_from_audio(args.audio)
        if args.text is None:
            return EXIT_FAILED
    if not args.text:
        print("say: give the command TEXT or --audio FILE", file=sys.stderr)
        return EXIT_FAILED
    from std_msgs.msg import String

    from synth_agent.core import contract
    from synth_agent.core.schemas import SchemaError, describe_steps, parse_plan, parse_status
    from synth_agent.nodes.qos import profile

    ros = _RosSession("_synth_agent_say", args.namespace or "")
    node, ns = ros.node, normalize_namespace(args.namespace or "")
    done = threading.Event()
    result = {"code": EXIT_TIMEOUT}
    plan_id: list[str] = []

    def on_plan(msg: String) -> None:
        try:
            plan = parse_plan(msg.data)
        except SchemaError as e:
            print(f"[plan] invalid plan message: {e}")
            return
        if plan.command != args.text or plan_id:
            return
        plan_id.append(plan.id)
        steps = describe_steps(plan)
        print(f"[plan {plan.id}] {plan.type}: {steps or plan.say}", flush=True)
        if plan.type != "plan":
            result["code"] = EXIT_OK if plan.type == "answer" else EXIT_FAILED
            done.set()

    def on_status(msg: String) -> None:
        try:
            status = parse_status(msg.data)
        except SchemaError as e:
            print(f"[status] invalid status message: {e}")
            return
        if not plan_id or status.plan_id != plan_id[0]:
            return
        where = (
            f"step {status.step} {status.skill or ''}".strip()
            if status.step is not None
            else "plan"
        )
        print(f"[status] {where}: {status.state} {status.detail}".rstrip(), flush=True)
        if status.plan_done:
            result["code"] = EXIT_OK if status.state == "succeeded" else EXIT_FAILED
            done.set()

    plan_sub = node.create_subscription(String, contract.PLAN.name, on_plan, profile(contract.PLAN))
    node.create_subscription(String, contract.STATUS.name, on_status, profile(contract.STATUS))
    node.create_subscription(
        String,
        contract.FEEDBACK.name,
        lambda m: print(f"[robot] {m.data}", flush=True),
        profile(contract.FEEDBACK),
    )
    pub = node.create_publisher(String, contract.COMMAND.name, profile(contract.COMMAND))
    try:
        deadline = time.monotonic() + args.connect_timeout
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            ros.spin(0.1)
        if pub.get_subscription_count() == 0:
            print(
                f"nobody is listening on {ns}/{contract.COMMAND.name}: is the graph up "
                f"(synth-agent up) with a reasoning node, on this ROS_DOMAIN_ID?",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE
        # The answer comes on agent/plan: give discovery a moment to match its publisher too,
        # so the first reply is not published before we can hear it.
        deadline = time.monotonic() + 3.0
        while plan_sub.get_publisher_count() == 0 and time.monotonic() < deadline:
            ros.spin(0.05)
        pub.publish(String(data=args.text))
        print(f"[you] {args.text}", flush=True)
        deadline = time.monotonic() + args.timeout
        while not done.is_set() and time.monotonic() < deadline:
            ros.spin(0.1)
        if not done.is_set():
            print(f"no end of plan within {args.timeout:.0f} s", file=sys.stderr)
        return result["code"]
    except KeyboardInterrupt:
        print("say: interrupted", file=sys.stderr)
        return EXIT_FAILED
    finally:
        ros.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from synth_agent.demo import main as demo_main

    return demo_main(args.command, args.out, args.timeout)


def cmd_scenarios(args: argparse.Namespace) -> int:
    from synth_agent.scenario_runner import main as scenarios_main

    return scenarios_main(args.report, args.only, args.fast, args.out)


def cmd_sim(args: argparse.Namespace) -> int:
    try:
        from synth_agent.sim.view import save_views
    except ImportError as e:
        print(f"sim: the simulator is not part of this build yet ({e})", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if not args.view:
        print("sim: use --view to save camera.png and topdown.png; `synth-agent up --sim` runs it")
        return EXIT_FAILED
    for path in save_views(Path(args.out)):
        print(path)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    script = SOURCE_ROOT / "bench" / f"{args.name}.py"
    if not script.is_file():
        available = sorted(p.stem for p in (SOURCE_ROOT / "bench").glob("*.py"))
        print(
            f"bench: no benchmark {args.name!r}; available: {', '.join(available)}", file=sys.stderr
        )
        return EXIT_FAILED
    sys.argv = [str(script)] + args.args
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as e:
        return int(e.code or 0)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from synth_agent.core.config import load_config
    from synth_agent.core.reasoning import ReasoningConfig
    from synth_agent.core.reasoning.evaluate import format_table, run_eval, write_report

    cfg = load_config(ReasoningConfig, args.params, "reasoning") if args.params else None
    if args.generator:
        from dataclasses import replace

        cfg = replace(cfg or ReasoningConfig(), generator=args.generator)
    try:
        report = run_eval(args.file, cfg, open_world=args.open_world, part=args.part)
    except (OSError, ValueError) as e:
        print(f"eval: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(format_table(report))
    if args.report:
        write_report(report, args.report)
        print(f"report: {args.report}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from synth_agent.core.reasoning.lm import LMError, LocalBackend
    from synth_agent.core.reasoning.serve import is_loopback, make_server

    if not is_loopback(args.host):
        print(f"serve: refusing to bind {args.host!r}: loopback only", file=sys.stderr)
        return EXIT_FAILED
    try:
        backend = LocalBackend(args.model, args.quantization, args.device, args.threads)
    except (LMError, OSError, ValueError) as e:
        print(f"serve: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    server = make_server(backend, args.host, args.port, args.model)
    host, port = server.server_address[:2]
    print(f"serve: http://{host}:{port}/v1 ({backend.model_path}, {backend.load_s:.1f} s)",
          flush=True)  # fmt: skip
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    from synth_agent import bag
    from synth_agent.core import contract

    try:
        topics = bag.select(args.topics.split(",") if args.topics else None, args.images)
        rec = bag.Recorder(
            Path(args.out),
            namespace=args.namespace or "",
            min_gap_s={contract.IMAGE_ANNOTATED.name: 0.0 if args.images else 5.0},
        )
    except (ValueError, FileExistsError) as e:
        print(f"record: {e}", file=sys.stderr)
        return EXIT_FAILED
    ros = _RosSession("_synth_agent_record")
    for topic in topics:
        rec.add(ros.node, topic)
    print(f"record: {len(topics)} topics to {args.out} (Ctrl-C to stop)", flush=True)
    start = last = time.monotonic()
    try:
        while args.duration <= 0 or time.monotonic() - start < args.duration:
            ros.spin(0.1)
            if time.monotonic() - last >= 5.0:
                last = time.monotonic()
                print(f"record: {sum(rec.counts.values())} messages", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        rec.close()
        ros.close()
    for name, n in sorted(rec.counts.items()):
        if n:
            print(f"  {name}: {n}")
    print(f"record: {sum(rec.counts.values())} messages in {args.out}", flush=True)
    return EXIT_OK


def cmd_play(args: argparse.Namespace) -> int:
    from synth_agent import bag

    try:
        wanted = [bag.resolve(t) for t in args.topics.split(",")] if args.topics else None
        messages = bag.read(Path(args.bag), wanted)
    except Exception as e:  # noqa: BLE001 - rosbags raises its own errors for a bad bag
        print(f"play: cannot read {args.bag}: {e}", file=sys.stderr)
        return EXIT_FAILED
    if not messages:
        print(f"play: no messages in {args.bag}" + (f" on {args.topics}" if args.topics else ""))
        return EXIT_FAILED
    ros = _RosSession("_synth_agent_play")
    span = (messages[-1].time_ns - messages[0].time_ns) / 1e9
    print(f"play: {len(messages)} messages, {span:.1f} s at rate {args.rate}", flush=True)
    try:
        deadline = time.monotonic() + args.delay  # let subscribers discover the publishers
        while time.monotonic() < deadline:
            ros.spin(0.05)
        sent = bag.play(ros.node, messages, args.rate, args.namespace or "", spin=ros.spin)
        end = time.monotonic() + 0.5  # reliable messages still in flight
        while time.monotonic() < end:
            ros.spin(0.05)
    except KeyboardInterrupt:
        print("play: interrupted", flush=True)
        return EXIT_FAILED
    except ValueError as e:
        print(f"play: {e}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        ros.close()
    print(f"play: published {sent} messages", flush=True)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synth-agent", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    up = sub.add_parser("up", help="start the node graph, one process per node")
    up.add_argument("--sim", action="store_true", help="include the embedded simulator")
    up.add_argument("--params", help="extra ROS params file applied to every node")
    up.add_argument("--namespace", default="", help="namespace for every node and topic")
    up.add_argument("--model", help="reasoning model (folder or name)")
    up.add_argument("--ready-timeout", type=float, default=60.0)
    up.set_defaults(func=cmd_up)

    say = sub.add_parser("say", help="send one command and follow the plan to its end")
    say.add_argument("text", nargs="?", default="")
    say.add_argument("--audio", metavar="FILE", help="a recorded command (WAV/FLAC) to transcribe")
    say.add_argument("--namespace", default="")
    say.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the end")
    say.add_argument("--connect-timeout", type=float, default=10.0)
    say.set_defaults(func=cmd_say)

    demo = sub.add_parser("demo", help="the main job: a command carried out in the simulator")
    demo.add_argument("command", nargs="?", default=DEFAULT_COMMAND)
    demo.add_argument("--out", default="demo", help="folder for the run's outputs")
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds for the plan")
    demo.set_defaults(func=cmd_demo)

    sc = sub.add_parser("scenarios", help="the scenario suite in the simulator")
    sc.add_argument("--report", metavar="OUT.json", help="write the per-scenario report here")
    sc.add_argument("--only", metavar="NAME,...", help="run only these scenarios")
    sc.add_argument("--fast", action="store_true", help="only the fast subset (CI)")
    sc.add_argument("--out", default="demo/scenarios", help="folder for the graph's log")
    sc.set_defaults(func=cmd_scenarios)

    sim = sub.add_parser("sim", help="simulator tools")
    sim.add_argument("--view", action="store_true", help="save camera and top-down PNGs")
    sim.add_argument("--out", default="demo/view")
    sim.set_defaults(func=cmd_sim)

    bench = sub.add_parser("bench", help="run bench/NAME.py")
    bench.add_argument("name")
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)

    ev = sub.add_parser("eval", help="score the reasoning core on a JSONL of commands")
    ev.add_argument("file", help="JSONL: text, optional intent/slots/source per line")
    ev.add_argument("--report", help="write the summary and every row's response here (JSON)")
    ev.add_argument("--open-world", action="store_true", help="accept any place/object name")
    ev.add_argument(
        "--part", choices=["eval", "train"], help="only that part of the dev.jsonl split"
    )
    ev.add_argument("--params", help="reasoning params file (default: the built-in defaults)")
    ev.add_argument("--generator", choices=["none", "lm"], help="override the params' generator")
    ev.set_defaults(func=cmd_eval)

    srv = sub.add_parser("serve", help="the local model as an OpenAI chat-completions API")
    srv.add_argument("--host", default="127.0.0.1", help="loopback address only")
    srv.add_argument("--port", type=int, default=8000, help="0 = any free port")
    srv.add_argument("--model", default="smollm2-135m-instruct", help="name or model folder")
    srv.add_argument("--quantization", choices=["none", "bf16", "8bit", "4bit"], default="none")
    srv.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    srv.add_argument("--threads", type=int, default=1)
    srv.set_defaults(func=cmd_serve)

    rec = sub.add_parser("record", help="record contract topics to a rosbag2 (MCAP) folder")
    rec.add_argument("out", help="bag folder to create")
    rec.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until Ctrl-C")
    rec.add_argument("--topics", help="comma-separated contract topics (default: all but images)")
    rec.add_argument("--images", action="store_true", help="also the camera streams (large)")
    rec.add_argument("--namespace", default="", help="the robot's namespace")
    rec.set_defaults(func=cmd_record)

    play = sub.add_parser("play", help="publish a recorded bag with its original timing")
    play.add_argument("bag", help="bag folder (rosbag2, MCAP or SQLite 3)")
    play.add_argument("--rate", type=float, default=1.0, help="speed factor")
    play.add_argument("--topics", help="comma-separated topics to play (default: all)")
    play.add_argument("--namespace", default="", help="move contract topics to this namespace")
    play.add_argument("--delay", type=float, default=1.0, help="seconds for discovery first")
    play.set_defaults(func=cmd_play)
    return parser


def main(argv: list[str] | None = None) -> int:
    apply_safe_defaults()
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
