"""The closed loop's measured half: does a generated face show the pose, eyes, mouth, smile or gaze that was asked
for? Each check reports pass / fail with the measured value and the (heuristic) threshold; attributes the mesh
cannot measure are left to a vision-language model's yes/no check, composed by the caller."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from backends.tasks.face.messages import AttributeCheck
from backends.tasks.face.taxonomy import Attribute
from backends.vision import face as geometry
from backends.vision.face import FaceMeasures

Verdict = tuple[bool | None, str, str]  # passed, measured value, threshold


def _pose(face: FaceMeasures) -> str:
    pose = face.pose
    return f"yaw {pose.yaw:+.1f}°, pitch {pose.pitch:+.1f}°, roll {pose.roll:+.1f}°" if pose else ""


def _frontal(face: FaceMeasures) -> Verdict:
    ok = abs(face.pose.yaw) < geometry.FRONTAL_DEG and abs(face.pose.pitch) < geometry.FRONTAL_DEG
    return ok, _pose(face), f"|yaw| and |pitch| < {geometry.FRONTAL_DEG:g}°"


def _three_quarter(face: FaceMeasures) -> Verdict:
    ok = geometry.FRONTAL_DEG <= abs(face.pose.yaw) < 45
    return ok, _pose(face), f"{geometry.FRONTAL_DEG:g}° <= |yaw| < 45°"


def _profile(face: FaceMeasures) -> Verdict:
    return abs(face.pose.yaw) >= 45, _pose(face), "|yaw| >= 45°"


def _up(face: FaceMeasures) -> Verdict:
    return face.pose.pitch >= geometry.FRONTAL_DEG, _pose(face), f"pitch >= +{geometry.FRONTAL_DEG:g}°"


def _down(face: FaceMeasures) -> Verdict:
    return face.pose.pitch <= -geometry.FRONTAL_DEG, _pose(face), f"pitch <= -{geometry.FRONTAL_DEG:g}°"


def _tilted(face: FaceMeasures) -> Verdict:
    return abs(face.pose.roll) >= geometry.TILT_DEG, _pose(face), f"|roll| >= {geometry.TILT_DEG:g}°"


def _ears(face: FaceMeasures) -> str:
    return ", ".join(f"EAR {side} {value:.3f}" for side, value in face.ear.items())


def _eyes(open_wanted: bool) -> Callable[[FaceMeasures], Verdict]:
    def check(face: FaceMeasures) -> Verdict:
        if not face.ear:
            return None, "", ""
        states = [value >= geometry.EAR_OPEN for value in face.ear.values()]
        ok = all(states) if open_wanted else not any(states)
        return ok, _ears(face), f"open at EAR >= {geometry.EAR_OPEN:g}"

    return check


def _mouth(open_wanted: bool) -> Callable[[FaceMeasures], Verdict]:
    def check(face: FaceMeasures) -> Verdict:
        if face.mar is None:
            return None, "", ""
        return face.mouth_open() == open_wanted, f"MAR {face.mar:.3f}", f"open at MAR >= {geometry.MAR_OPEN:g}"

    return check


def _smile_text(face: FaceMeasures) -> str:
    return f"corner lift {face.smile['corner_lift']:+.3f}, width {face.smile['width_ratio']:.2f}x neutral"


SMILE_RULE = (f"smile at corner lift >= {geometry.SMILE_LIFT:g} of the mouth width or width >= "
              f"{geometry.SMILE_WIDTH:g}x neutral")


def _smile(face: FaceMeasures) -> Verdict:
    if not face.smile:
        return None, "", ""
    return bool(face.smiling()), _smile_text(face), SMILE_RULE


def _laugh(face: FaceMeasures) -> Verdict:
    if not face.smile or face.mar is None:
        return None, "", ""
    ok = bool(face.smiling() and face.mouth_open())
    return ok, f"{_smile_text(face)}, MAR {face.mar:.3f}", f"{SMILE_RULE}, and MAR >= {geometry.MAR_OPEN:g}"


def _at_camera(face: FaceMeasures) -> bool | None:
    direction = face.gaze_direction()
    if direction is None or face.pose is None:
        return None
    frontal = abs(face.pose.yaw) < geometry.FRONTAL_DEG and abs(face.pose.pitch) < geometry.FRONTAL_DEG
    return frontal and direction == ("centre", "centre")


def _gaze(at_camera_wanted: bool) -> Callable[[FaceMeasures], Verdict]:
    def check(face: FaceMeasures) -> Verdict:
        at_camera = _at_camera(face)
        if at_camera is None:
            return None, "", ""
        h, v = face.gaze["mean"]
        value = f"iris offset {h:+.3f} / {v:+.3f} eye widths, {_pose(face)}"
        rule = (f"at the camera: |iris offset| < {geometry.GAZE_SIDE:g} / {geometry.GAZE_VERTICAL:g} and a frontal "
                f"head (< {geometry.FRONTAL_DEG:g}°)")
        return at_camera == at_camera_wanted, value, rule

    return check


CHECKS: Mapping[str, Callable[[FaceMeasures], Verdict]] = MappingProxyType({
    "frontal": _frontal, "three_quarter": _three_quarter, "profile": _profile, "looking_up": _up,
    "looking_down": _down, "tilted": _tilted, "eyes_open": _eyes(True), "eyes_closed": _eyes(False),
    "mouth_open": _mouth(True), "mouth_closed": _mouth(False), "smile": _smile, "laugh": _laugh,
    "gaze_camera": _gaze(True), "gaze_away": _gaze(False),
})
POSE_CHECKS = frozenset({"frontal", "three_quarter", "profile", "looking_up", "looking_down", "tilted"})


def measured_checks(attributes: Sequence[Attribute], face: FaceMeasures | None) -> list[AttributeCheck]:
    """Pass / fail of every measurable attribute on ``face`` (None: no face was found, so each fails).

    Attributes without a measure are returned with method ``vlm`` and ``passed`` None, for a VLM to decide.
    """
    checks = []
    for attribute in attributes:
        if attribute.measure is None:
            checks.append(AttributeCheck(attribute.id, attribute.en, "vlm", None, note="awaiting a VLM yes/no check"))
            continue
        if face is None:
            checks.append(AttributeCheck(attribute.id, attribute.en, "measured", False, "", "", "no face found"))
            continue
        needs_pose = attribute.measure in POSE_CHECKS
        if face.pose is None or (not needs_pose and face.landmarks is None):
            why = next(iter(face.unmeasured.values()), "not measured")
            checks.append(AttributeCheck(attribute.id, attribute.en, "measured", False, "", "", why))
            continue
        passed, value, threshold = CHECKS[attribute.measure](face)
        note = "" if passed is not None else next(
            (why for key, why in face.unmeasured.items() if key in attribute.measure or key in attribute.group),
            "not measurable on this face")
        checks.append(AttributeCheck(attribute.id, attribute.en, "measured", bool(passed), value, threshold, note))
    return checks
