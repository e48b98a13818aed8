"""Named places, rooms and doorways of the robot's world, from `config/places.yaml`.

The simulator draws them, the reasoning node checks plans against them (an unknown place becomes
a clarifying question) and motor control drives to them, so all three read this one file through
this one loader. The file is plain YAML (not a ROS params file) because places are nested data
that ROS parameters cannot express. Errors name the entry and the problem, since the person
reading them is editing the file by hand.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class PlacesError(ValueError):
    """A places file that cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class Place:
    """A robot pose: where its centre stops (metres) and which way it faces (radians)."""

    name: str
    x: float
    y: float
    yaw: float


@dataclass(frozen=True)
class Room:
    """An axis-aligned box in the world frame."""

    name: str
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def contains(self, x: float, y: float) -> bool:
        return self.x_min <= x <= self.x_max and self.y_min <= y <= self.y_max


@dataclass(frozen=True)
class Doorway:
    """The centre of a door opening and the two rooms it joins."""

    name: str
    x: float
    y: float
    connects: tuple[str, str]


@dataclass(frozen=True)
class Places:
    """Everything in a places file. `places` excludes the operator, which is `operator`."""

    places: dict[str, Place]
    operator: Place
    rooms: dict[str, Room] = field(default_factory=dict)
    doorways: dict[str, Doorway] = field(default_factory=dict)

    def get(self, name: str) -> Place:
        """A named place or the operator; raise KeyError listing the known names."""
        key = normalize_name(name)
        if key == "operator":
            return self.operator
        if key in self.places:
            return self.places[key]
        raise KeyError(f"unknown place {name!r}; known: {', '.join(self.names())}")

    def names(self) -> list[str]:
        """Every name `get` accepts, places first."""
        return [*self.places, "operator"]

    def room_at(self, x: float, y: float) -> str | None:
        """The room containing (x, y), or None outside all rooms (first match on a boundary)."""
        for room in self.rooms.values():
            if room.contains(x, y):
                return room.name
        return None

    def route(self, start_room: str, goal_room: str) -> list[Doorway]:
        """The doorways to pass, in order, on a shortest (fewest doors) way between two rooms;
        empty when they are the same room. Raises KeyError for an unknown room and ValueError
        when no way exists."""
        for r in (start_room, goal_room):
            if r not in self.rooms:
                raise KeyError(f"unknown room {r!r}; known: {', '.join(self.rooms)}")
        came: dict[str, tuple[str, Doorway] | None] = {start_room: None}
        queue = deque([start_room])
        while queue:
            room = queue.popleft()
            if room == goal_room:
                break
            for door in self.doorways.values():
                if room in door.connects:
                    other = door.connects[1] if door.connects[0] == room else door.connects[0]
                    if other not in came:
                        came[other] = (room, door)
                        queue.append(other)
        if goal_room not in came:
            raise ValueError(f"no doorway route from {start_room} to {goal_room}")
        doors: list[Doorway] = []
        node = goal_room
        while came[node] is not None:
            prev, door = came[node]  # type: ignore[misc]
            doors.append(door)
            node = prev
        return doors[::-1]


def normalize_name(name: str) -> str:
    """'Living room' -> 'living_room': the form names take in the file."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def _number(where: str, entry: dict[str, Any], key: str) -> float:
    if key not in entry:
        raise PlacesError(f"{where}: missing {key!r}")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlacesError(f"{where}.{key}: expected a finite number, got {value!r}")
    return float(value)


def _mapping(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlacesError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _place(name: str, entry: Any, where: str) -> Place:
    entry = _mapping(where, entry)
    unknown = set(entry) - {"x", "y", "yaw"}
    if unknown:
        raise PlacesError(f"{where}: unknown keys {sorted(unknown)} (expected x, y, yaw)")
    return Place(
        name, _number(where, entry, "x"), _number(where, entry, "y"), _number(where, entry, "yaw")
    )


def parse_places(data: Any, source: str = "places") -> Places:
    """Validate a parsed places document (see config/places.yaml) and build `Places`."""
    data = _mapping(source, data)
    unknown = set(data) - {"places", "operator", "rooms", "doorways"}
    if unknown:
        raise PlacesError(f"{source}: unknown sections {sorted(unknown)}")
    if "places" not in data or not data["places"]:
        raise PlacesError(f"{source}: needs a non-empty 'places' section")
    if "operator" not in data:
        raise PlacesError(f"{source}: needs an 'operator' pose")
    places: dict[str, Place] = {}
    for raw, entry in _mapping(f"{source}.places", data["places"]).items():
        name = normalize_name(str(raw))
        if name == "operator":
            raise PlacesError(f"{source}.places: 'operator' is its own section")
        if name in places:
            raise PlacesError(f"{source}.places: {raw!r} given twice")
        places[name] = _place(name, entry, f"places.{name}")
    operator = _place("operator", data["operator"], "operator")
    rooms: dict[str, Room] = {}
    for raw, entry in _mapping(f"{source}.rooms", data.get("rooms") or {}).items():
        name = normalize_name(str(raw))
        where = f"rooms.{name}"
        entry = _mapping(where, entry)
        room = Room(name, *(_number(where, entry, k) for k in ("x_min", "x_max", "y_min", "y_max")))
        if room.x_min >= room.x_max or room.y_min >= room.y_max:
            raise PlacesError(f"{where}: min must be below max")
        rooms[name] = room
    doorways: dict[str, Doorway] = {}
    for raw, entry in _mapping(f"{source}.doorways", data.get("doorways") or {}).items():
        name = normalize_name(str(raw))
        where = f"doorways.{name}"
        entry = _mapping(where, entry)
        connects = entry.get("connects")
        if not isinstance(connects, list) or len(connects) != 2:
            raise PlacesError(f"{where}.connects: expected two room names, got {connects!r}")
        pair = (normalize_name(str(connects[0])), normalize_name(str(connects[1])))
        for room_name in pair:
            if rooms and room_name not in rooms:
                raise PlacesError(f"{where}.connects: unknown room {room_name!r}")
        doorways[name] = Doorway(name, _number(where, entry, "x"), _number(where, entry, "y"), pair)
    return Places(places=places, operator=operator, rooms=rooms, doorways=doorways)


def load_places(path: str | Path | None = None) -> Places:
    """Read a places file (default: the package's config/places.yaml)."""
    if path is None:
        from synth_agent.paths import config_path

        path = config_path("places.yaml")
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise PlacesError(f"cannot read places file {path}: {e}") from e
    except yaml.YAMLError as e:
        raise PlacesError(f"{path}: not valid YAML: {e}") from e
    return parse_places(data, source=str(path))
