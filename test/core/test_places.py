"""The places loader: the shipped file loads, names normalise, and bad files fail clearly."""

from __future__ import annotations

import copy

import pytest
import yaml

from synth_agent.core.places import PlacesError, load_places, parse_places
from synth_agent.paths import config_path

DOC = yaml.safe_load(config_path("places.yaml").read_text())


def test_the_shipped_places_file_loads():
    places = load_places()
    assert {"kitchen", "living_room", "bedroom", "bathroom", "hallway", "dock"} <= set(
        places.places
    )
    assert places.get("operator") == places.operator
    assert places.get("Living room").name == "living_room"
    assert "operator" in places.names()


def test_unknown_place_lists_the_known_ones():
    with pytest.raises(KeyError, match="kitchen"):
        load_places().get("garage")


def test_room_lookup_and_doorway_route():
    places = load_places()
    assert places.room_at(1.0, 1.0) == "kitchen"
    assert places.room_at(20.0, 1.0) is None
    assert [d.name for d in places.route("kitchen", "bedroom")] == ["kitchen_door", "bedroom_door"]
    assert [d.name for d in places.route("kitchen", "living_room")] == ["kitchen_living_door"]
    assert places.route("hallway", "hallway") == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["places"]["kitchen"].pop("yaw"), "places.kitchen: missing 'yaw'"),
        (lambda d: d["places"]["kitchen"].update(x="near"), "places.kitchen.x"),
        (lambda d: d["places"]["kitchen"].update(x=float("nan")), "places.kitchen.x"),
        (lambda d: d["places"]["kitchen"].update(z=1.0), "unknown keys"),
        (lambda d: d.pop("operator"), "operator"),
        (lambda d: d.update(places={}), "non-empty 'places'"),
        (lambda d: d.update(extra=1), "unknown sections"),
        (lambda d: d["doorways"]["kitchen_door"].update(connects=["kitchen", "attic"]), "attic"),
        (lambda d: d["rooms"]["kitchen"].update(x_min=9.0), "min must be below max"),
    ],
)
def test_bad_files_fail_with_the_entry_named(edit, message):
    doc = copy.deepcopy(DOC)
    edit(doc)
    with pytest.raises(PlacesError, match=message):
        parse_places(doc)


def test_unreadable_or_invalid_files_raise_places_error(tmp_path):
    with pytest.raises(PlacesError, match="cannot read"):
        load_places(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("places: [unclosed")
    with pytest.raises(PlacesError, match="not valid YAML"):
        load_places(bad)
