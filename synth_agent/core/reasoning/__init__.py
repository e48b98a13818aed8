"""The reasoning core: a sentence (+ scene, places, memory) in, one validated plan out.

Pure Python, no rclpy: `synth_agent.nodes.reasoning_node` is a thin shell around `Reasoner`.
See `reasoner.py` for the pipeline and why it is ordered the way it is.
"""

from synth_agent.core.reasoning.config import ReasoningConfig
from synth_agent.core.reasoning.reasoner import (
    Decision,
    Reasoner,
    plan_intent,
    response_intent,
)

__all__ = ["Decision", "Reasoner", "ReasoningConfig", "plan_intent", "response_intent"]
