"""Runs one plan at a time, step by step, and says what it is doing.

The executor is the one place that owns plan-level concerns, so every skill behaves the same
under them: validating the whole plan before any motion (an unknown place fails the plan with a
reason and the robot never moves), per-step timeouts from the step's size, preemption by a new
plan or a cancel (the very next command is zero, so the robot stops within one control period),
pausing while the safety gate holds a stop and failing after an e-stop, and the `agent/status`
and `agent/feedback` traffic. Skills only compute commands. A step ended from outside is told
so (`Skill.abort`), which is how a navigate_to delegated to Nav2 (a `Navigator` handed to the
executor) has its goal canceled on preemption, cancel, timeout or e-stop.

`submit`, `cancel` and `tick` take `now` and return plain values (`Status` models, sentences,
`Command`s); the node publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth_agent.core.motor import STOP, Command, MotorControlConfig, Observation
from synth_agent.core.places import Places
from synth_agent.core.schemas import Plan, Status
from synth_agent.core.skills import Navigator, Skill, announce, build_skill


@dataclass
class Tick:
    """What one control period produced: the command to send (None: stay quiet), the status
    updates and the operator sentences, in order."""

    command: Command | None = None
    statuses: list[Status] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)


class PlanExecutor:
    """One plan at a time; see the module docstring."""

    def __init__(
        self, cfg: MotorControlConfig, places: Places, navigator: Navigator | None = None
    ) -> None:
        self.cfg = cfg
        self.places = places
        self.navigator = navigator  # None: navigate_to uses the built-in planner
        self.plan: Plan | None = None
        self.index = 0
        self.skill: Skill | None = None
        self._step_t0 = 0.0
        self._deadline: float | None = None
        self._paused_since: float | None = None
        self._started = False
        self._stop_until = -1.0
        self._pending = Tick()
        self.gripper: float | None = None

    @property
    def busy(self) -> bool:
        return self.plan is not None

    def _emit(
        self, state: str, step: int | None = None, skill: str | None = None, detail: str = ""
    ) -> None:
        assert self.plan is not None
        self._pending.statuses.append(
            Status(plan_id=self.plan.id, step=step, skill=skill, state=state, detail=detail)
        )

    def _end(self, state: str, detail: str, now: float, step_state: str | None = None) -> None:
        if self.plan is None:
            return
        if step_state and self.skill is not None:
            self.skill.abort()  # e.g. cancel a Nav2 goal: nothing may drive on after the plan
            self._emit(step_state, self.index, self.skill.name, detail)
        self._emit(state, None, None, detail)
        self.plan, self.skill = None, None
        self._stop_until = now + self.cfg.stop_hold_s

    def validate(self, plan: Plan) -> str | None:
        """The reason a plan cannot run, or None. World checks only: the schema is already met."""
        if plan.type != "plan":
            return f"a {plan.type} has no steps to execute"
        for i, step in enumerate(plan.steps):
            for key in ("place",):
                name = getattr(step, key, None)
                if name is None:
                    continue
                try:
                    self.places.get(name)
                except KeyError as e:
                    return f"step {i} ({step.skill}): {e.args[0]}"
        return None

    def submit(self, plan: Plan, now: float) -> Tick:
        """Start a plan, preempting any running one."""
        if self.plan is not None:
            self._end("preempted", f"preempted by plan {plan.id}", now, "preempted")
        reason = self.validate(plan)
        self.plan = plan
        if reason is not None:
            self._emit("failed", detail=reason)
            self._pending.feedback.append(f"I can't do that: {reason}.")
            self.plan = None
            self._stop_until = now + self.cfg.stop_hold_s
        else:
            self._emit("accepted", detail=plan.command)
            self.index = -1
            self._next_step(now)
        return self._flush(STOP)

    def cancel(self, now: float, reason: str = "canceled by operator") -> Tick:
        """Cancel the running plan (if any); the returned command is zero."""
        had = self.plan is not None
        self._end("canceled", reason, now, "canceled")
        if had:
            self._pending.feedback.append("Stopped.")
        return self._flush(STOP)

    def _next_step(self, now: float) -> None:
        assert self.plan is not None
        self.index += 1
        self.skill = None
        self._deadline = None
        if self.index >= len(self.plan.steps):
            self._end("succeeded", "all steps done", now)
            return
        step = self.plan.steps[self.index]
        try:
            cfg = self.cfg if self.plan.speed is None else self.cfg.at_speed(self.plan.speed)
            self.skill = build_skill(step, cfg, self.places, self.navigator)
        except (KeyError, ValueError) as e:
            self.skill = None
            self._emit("failed", self.index, step.skill, str(e.args[0]))
            self._end("failed", f"step {self.index} ({step.skill}): {e.args[0]}", now)
            return
        self._emit("running", self.index, step.skill, announce(step))
        text = announce(step)
        if text:
            self._pending.feedback.append(text)
        if (
            self.plan.speed is not None
            and self.navigator is not None
            and step.skill in ("navigate_to", "find", "guide", "place")
        ):  # the slow promise does not hold for Nav2's trips: the operator hears it
            self._pending.feedback.append(
                "Nav2 drives this trip within its own speed limits, not slowly."
            )
        self._step_t0 = now
        self._started = False

    def _flush(self, command: Command | None) -> Tick:
        out, self._pending = self._pending, Tick()
        out.command = command
        return out

    def tick(self, obs: Observation, now: float) -> Tick:
        """One control period: step the current skill, handle timeouts and step transitions."""
        if self.plan is None or self.skill is None:
            return self._flush(STOP if now < self._stop_until else None)
        if obs.safety == "estop":
            self._end("failed", "emergency stop engaged", now, "failed")
            self._pending.feedback.append("Emergency stop: I stopped and dropped the plan.")
            return self._flush(STOP)
        if obs.safety == "stopping":
            if self._paused_since is None:
                self._paused_since = now
                self._pending.feedback.append("Paused: the safety gate is holding me.")
            return self._flush(STOP)
        if self._paused_since is not None:
            if self._deadline is not None:
                self._deadline += now - self._paused_since  # paused time does not count
            self._paused_since = None
        if not self._started:
            self._started = True
            budget = self.skill.budget_s(obs)
            self._deadline = None if budget is None else now + budget
        if self._deadline is not None and now > self._deadline:
            spent = now - self._step_t0
            self._end("failed", f"timed out after {spent:.1f} s", now, "failed")
            self._pending.feedback.append(f"I gave up: step {self.index + 1} took too long.")
            return self._flush(STOP)
        cmd, state = self.skill.step(obs, now)
        gripper = None if cmd is None else cmd.gripper
        if gripper is not None:
            self.gripper = gripper
        if state.say:
            self._pending.feedback.append(state.say)
        if state.status == "running":
            if state.detail:
                self._emit("running", self.index, self.skill.name, state.detail)
            return self._flush(cmd)  # None: Nav2 drives, stay quiet
        if state.status == "failed":
            self._end("failed", state.detail, now, "failed")
            return self._flush(Command(0.0, 0.0, gripper))
        self._emit("succeeded", self.index, self.skill.name, state.detail)
        self._next_step(now)
        if self.skill is not None:
            self._started = True
            budget = self.skill.budget_s(obs)
            self._deadline = None if budget is None else now + budget
        return self._flush(Command(0.0, 0.0, gripper))
