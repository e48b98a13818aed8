"""Rescoring Whisper's hypotheses against the command grammar, without a speech model.

The grammar is the reasoning layer's (stop rules, exact motions, the clause reader, question
starts, skill names); these tests check which hypothesis is chosen, and that the choice can
neither lose a stop nor turn a command the robot understands into a stop.
"""

from __future__ import annotations

import itertools

import pytest

from synth_agent.core.voice import (
    NOT_A_COMMAND,
    Hypothesis,
    VoiceConfig,
    choose_hypothesis,
    is_stop,
    malformed_quantity,
    normalize,
    readable_command,
    skills_read_by_name,
)

# What Whisper made of held-out-like sentences, and what was said (first words the prompt lacks).
MISHEARD = [
    ("That's the red cup.", "Fetch the red cup."),
    ("In left 120 degrees.", "Spin left 120 degrees."),
    ("Hand to the hallway.", "Head to the hallway."),
    ("4, 4, 3 seconds.", "Pause for 3 seconds."),
    ("Walk it in front of you.", "What is in front of you?"),
]


@pytest.mark.parametrize("heard, said", MISHEARD)
def test_the_grammar_reads_commands_and_not_what_whisper_made_of_them(heard, said):
    assert readable_command(said)
    assert not readable_command(heard)


@pytest.mark.parametrize(
    "text",
    ["Stop!", "halt", "Emergency stop.", "Turn left, 90 degrees.", "Go to the kitchen and find "
     "the red cup.", "Describe the room.", "Say hello.", "Where are you?", "Follow me."],
)  # fmt: skip
def test_stops_motions_acts_questions_and_skill_names_read_as_commands(text):
    assert readable_command(text)


@pytest.mark.parametrize("text", ["", "Hold.", "Uh-oh.", "Emergent seats top.", "1, 2, 3."])
def test_noise_and_mishearings_do_not(text):
    assert not readable_command(text)


@pytest.mark.parametrize(
    "heard, said",
    [("Turn right 1, 180 degrees.", "Turn right 180 degrees."),  # the tuning set's mishearing
     ("Drive forward 2nd meters.", "Drive forward 2 meters."),
     ("Wait 5 3 seconds.", "Wait 5 seconds.")],
)  # fmt: skip
def test_a_motion_whose_quantity_is_not_one_number_is_not_read(heard, said):
    assert readable_command(said)
    assert not readable_command(heard)
    assert malformed_quantity(normalize(heard)) and not malformed_quantity(normalize(said))


@pytest.mark.parametrize(
    "text", ["Go to the 2nd floor.", "Drive 2.5 meters.", "Turn left 90 degrees, then 45 degrees."]
)
def test_numbers_that_are_not_a_motions_quantity_are_fine(text):
    assert not malformed_quantity(normalize(text))


@pytest.mark.parametrize("text", ["Take the 2nd turn on the left.", "Stop at the 3rd step."])
def test_only_a_motion_must_carry_a_well_formed_quantity(text):
    # "turn" and "step" are units too, but these clauses are read as acts, not motions.
    assert malformed_quantity(normalize(text)) and readable_command(text)


def test_only_skills_that_need_no_argument_read_by_their_name_alone():
    from synth_agent.core.schemas import SKILLS

    by_name = skills_read_by_name()
    assert by_name == {"describe", "follow", "place", "say", "stop"} and by_name <= set(SKILLS)
    # A skill that needs a quantity or a place must have it read: "turn" names no angle here.
    assert not readable_command("Turn the hallway.")
    assert not readable_command("Wait the kitchen.")
    assert readable_command("Say good morning.") and readable_command("Describe it.")


def hyp(text: str, avg_logprob: float) -> Hypothesis:
    return Hypothesis(text, avg_logprob, len(text.split()) + 1)


def test_a_command_close_behind_whispers_best_is_chosen():
    best, command = hyp("That's the red cup.", -0.30), hyp("Fetch the red cup.", -0.40)
    choice = choose_hypothesis([best, command], grammar_weight=0.3)
    assert choice.hypothesis is command and choice.replaced is best
    assert "That's the red cup." in choice.reason


def test_a_clear_acoustic_winner_is_kept():
    best, command = hyp("That's the red cup.", -0.10), hyp("Fetch the red cup.", -0.90)
    choice = choose_hypothesis([best, command], grammar_weight=0.3)
    assert choice.hypothesis is best and choice.replaced is None


def test_weight_zero_is_whispers_own_choice():
    best, command = hyp("That's the red cup.", -0.30), hyp("Fetch the red cup.", -0.30001)
    assert choose_hypothesis([best, command], grammar_weight=0.0).hypothesis is best


def test_among_commands_acoustics_decide_and_a_readable_best_is_never_replaced():
    best = hyp("Turn left 90 degrees.", -0.50)
    choice = choose_hypothesis([best, hyp("Turn left 19 degrees.", -0.20)], grammar_weight=5.0)
    assert choice.hypothesis is best  # a forced decode may score higher; the beam's best stays
    choice = choose_hypothesis([hyp("That's it.", -0.2), hyp("Turn left.", -0.4),
                                hyp("Turn right.", -0.3)], grammar_weight=0.5)  # fmt: skip
    assert choice.hypothesis.text == "Turn right."


def test_nothing_readable_keeps_whispers_best():
    best = hyp("Uh-oh.", -0.4)
    choice = choose_hypothesis([best, hyp("Oh.", -0.41)], grammar_weight=1.0)
    assert choice.hypothesis is best and choice.reason == NOT_A_COMMAND


def test_a_stop_is_never_rescored_away():
    stop = hyp("Stop.", -0.9)
    choice = choose_hypothesis([stop, hyp("Go to the kitchen.", -0.1)], grammar_weight=5.0)
    assert choice.hypothesis is stop


def test_a_command_is_never_turned_into_a_stop():
    best = hyp("Go to the kitchen.", -0.5)
    choice = choose_hypothesis([best, hyp("Stop!", -0.1)], grammar_weight=5.0)
    assert choice.hypothesis is best


def test_a_stop_replaces_unreadable_text_only_when_whisper_found_it_almost_as_likely():
    heard, halt = hyp("Hold.", -0.69), hyp("Halt!", -0.91)
    assert choose_hypothesis([heard, halt], grammar_weight=0.3).hypothesis is halt
    assert choose_hypothesis([heard, halt], grammar_weight=0.1).hypothesis is heard


POOL = ["Stop.", "Halt!", "Stop the robot.", "Go to the kitchen.", "Turn left 90 degrees.",
        "Find the red cup.", "Hold.", "That's the red cup.", "Uh-oh.", "In left."]  # fmt: skip


@pytest.mark.parametrize("weight", [0.1, 0.5, 5.0])
def test_whatever_the_hypotheses_a_stop_is_kept_and_a_command_never_becomes_a_stop(weight):
    scores = [-0.9, -0.5, -0.2]
    for texts in itertools.permutations(POOL, 3):
        for order in itertools.permutations(scores):
            hyps = [hyp(t, s) for t, s in zip(texts, order, strict=True)]
            chosen = choose_hypothesis(hyps, weight).hypothesis
            best = hyps[0]
            if is_stop(best.text) or readable_command(best.text):
                assert chosen is best, (hyps, chosen)
            else:
                assert chosen is best or (
                    readable_command(chosen.text)
                    and chosen.avg_logprob >= best.avg_logprob - weight
                ), (hyps, chosen)


def test_custom_stop_phrases_count_as_stops():
    phrases = ("stop", "robot freeze")
    best = hyp("Robot freeze.", -0.8)
    assert readable_command(best.text, phrases)
    assert choose_hypothesis([best, hyp("Go home.", -0.1)], 5.0, phrases).hypothesis is best


def test_choosing_from_nothing_is_an_error():
    with pytest.raises(ValueError):
        choose_hypothesis([], 0.3)


@pytest.mark.parametrize("bad", [{"grammar_weight": -0.1}, {"rescore_first_tokens": 50}])
def test_rescoring_settings_are_checked(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        VoiceConfig(**bad)
