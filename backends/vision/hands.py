"""Hands for the MGHanD hand-repair direction: the hand report, overlays, hand masks and the cumulative mask schedule.

MGHanD (Eum, Choi, Kim, 2025, arXiv:2503.08133) repairs malformed hands in generated images with guidance applied
only inside a cumulative hand mask that is enlarged over the denoising steps, and evaluates with MediaPipe's hand
detection confidence. Growing the mask from a tight hull around the hand to a looser box lets early steps fix the
hand's shape and later steps blend it into its surroundings. This module builds those pieces from
``backends.vision.detectors.Hand`` results; it knows nothing about models, Gradio or torch.

Sizes are ``(width, height)`` like PIL's ``Image.size``; masks are ``HxW`` numpy arrays (bool unless stated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from backends.core.errors import InvalidInput
from backends.core.imaging import labelled_grid
from backends.core.validation import check_number
from backends.vision.detectors import Hand, ImageLike, as_rgb_array

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
# Landmark indices of each ray from the wrist (0) to the fingertip, in mediapipe's 21-point hand model.
RAYS = ((0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12), (0, 13, 14, 15, 16), (0, 17, 18, 19, 20))
JOINTS = ("mcp", "pip", "dip")  # the three joints of index..pinky, at landmarks RAYS[:, 1..3]
SEGMENTS = ("proximal", "middle", "distal")  # for the thumb: metacarpal, proximal, distal
SKELETON = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)
COLORS = ((255, 64, 64), (64, 160, 255), (64, 200, 64), (255, 170, 0), (200, 64, 255), (0, 200, 200))

# ---- Thresholds of the anatomical checks ---------------------------------------------------------------------------
# Typical lengths of each ray's four segments (wrist->base, then the three finger segments) as fractions of the palm
# length (wrist to middle knuckle). They follow adult phalanx proportions of about 1 : 0.6 : 0.45 (proximal : middle :
# distal; Buryanov & Kotiuk 2010, "Proportions of hand segments", Int. J. Morphol. 28(3)), with the fingertip's soft
# tissue added to the distal segment, and match the medians of mediapipe's landmarks on the straight fingers of the
# 25 fixture photos within about 10%.
EXPECTED_SEGMENTS = (
    (0.40, 0.42, 0.33, 0.26),  # thumb: wrist->CMC, metacarpal, proximal, distal
    (1.03, 0.44, 0.27, 0.21),  # index
    (1.00, 0.47, 0.30, 0.23),  # middle
    (0.95, 0.44, 0.29, 0.22),  # ring
    (0.90, 0.35, 0.21, 0.18),  # pinky
)
# The palm scale is the larger of the palm length and its width over this typical width/length ratio (0.69-0.78 on
# the open hands of the fixtures), so a palm seen end-on does not make every finger look too long.
PALM_WIDTH_RATIO = 0.75
# A finger counts as extended when its knuckle-to-tip path is nearly straight (tip distance / path length) and the
# whole ray from the wrist is too (which excludes a straight finger folded down at the knuckle). On the 25 shared
# photos, curled gesture fingers score <= 0.88 / <= 0.62 and held-out ones >= 0.99 / >= 0.97; thumbs (path only) held
# out >= 0.93, folded <= 0.81.
EXTENDED_STRAIGHTNESS = 0.9
EXTENDED_RAY = 0.8
# Bending backwards (hyperextension) beyond these is flagged. Normal active ranges (AAOS, "Joint Motion: Method of
# Measuring and Recording", 1965): MCP up to ~45 degrees of hyperextension, PIP ~0, DIP up to ~20 passively. The
# limits add ~15 degrees for landmark noise (straight fingers on the fixtures read up to 16 degrees backwards).
BACKWARD_LIMIT_DEG = MappingProxyType({"mcp": 60.0, "pip": 30.0, "dip": 35.0})
# mediapipe flattens depth, so curled fingers read as folds of 130-180 degrees whose direction is noise: a bend beyond
# this is neither flagged as backwards nor as over-flexed.
FOLD_DEG = 120.0
# A segment shorter than this fraction of its typical length points at the camera; the angles at its ends are noise.
RELIABLE_SEGMENT = 0.4
# Segments longer than TOO_LONG times their typical length are flagged (the fixtures reach 1.9x at most: wrist-to-
# knuckle lengths vary with the view); a straight finger shorter than TOO_SHORT of its typical length is flagged
# (foreshortening makes a finger pointing at the camera look short, so this only catches stubs).
TOO_LONG = 2.5
TOO_SHORT = 0.3
# When mediapipe's Left/Right label is wrong, every flexed finger reads as bent backwards. If at least this many
# fingers are flagged and none would be with the opposite label, the checks use the opposite label.
SWAP_MIN_FINGERS = 3
CURVES = ("linear", "cosine", "ease_in", "ease_out")


# --------------------------------------------------------------------------------------------------------------------
# Hand report
# --------------------------------------------------------------------------------------------------------------------
def _check_size(size: Any, field: str = "size") -> tuple[int, int]:
    if not (isinstance(size, Sequence) and len(size) == 2):
        raise InvalidInput(field, f"expected (width, height), got {size!r}")
    width = int(check_number(size[0], f"{field}[0] (width)", minimum=1, integer=True))
    height = int(check_number(size[1], f"{field}[1] (height)", minimum=1, integer=True))
    return width, height


def _backward_fingers(flexion: np.ndarray, reliable: np.ndarray) -> dict[tuple[int, int], float]:
    """``(finger, joint) -> degrees bent backwards`` for the judged joints of index..pinky beyond their limits."""
    found = {}
    for f in range(1, 5):
        for j, joint in enumerate(JOINTS):
            backward = -flexion[f, j]
            if reliable[f, j] and BACKWARD_LIMIT_DEG[joint] < backward < FOLD_DEG:
                found[(f, j)] = float(backward)
    return found


def hand_checks(hand: Hand, size: tuple[int, int]) -> dict[str, Any]:
    """Simple anatomical checks of one hand's landmarks (see the thresholds above for their sources).

    mediapipe always fits a five-finger skeleton, so extra or missing fingers show up only indirectly (a low score,
    odd angles or lengths). Depth (z) is mediapipe's estimate, scaled by the image width as mediapipe defines it.

    Args:
        hand: a detected hand.
        size: the image's ``(width, height)``.

    Returns:
        JSON-ready: ``extended`` (per finger), ``extended_count``, ``flexion_deg`` (signed, positive towards the palm,
        None where a segment is too foreshortened to judge), ``segment_ratios`` (per finger, each segment's length
        over its typical length), ``label_consistent``, ``plausible`` and ``reasons``.
    """
    width, _ = _check_size(size)
    points = np.asarray(hand.landmarks, dtype=np.float64)[:, :3].copy()
    points[:, 2] *= width  # mediapipe's z is in units of the image width
    expected = np.asarray(EXPECTED_SEGMENTS)  # (5 rays, 4 segments)
    rays = points[np.asarray(RAYS)]  # (5 rays, 5 points, 3)
    segments = np.diff(rays, axis=1)  # (5, 4, 3): wrist->base, then the three finger segments
    lengths = np.linalg.norm(segments, axis=2)  # (5, 4)
    palm = max(float(np.linalg.norm(points[9] - points[0])),
               float(np.linalg.norm(points[17] - points[5])) / PALM_WIDTH_RATIO, 1e-6)
    ratios = lengths / (expected * palm)

    # Signed bend at each joint about the hand's flexion axis (the knuckle line). Which way it points depends on the
    # hand's chirality: with mediapipe's labels (mirrored-image convention), "Right" hands flex about index->pinky.
    # Checked on the fixture photos, where curled fingers come out positive.
    u, v = segments[:, :3], segments[:, 1:]
    knuckles = points[17] - points[5]
    axis = knuckles / max(float(np.linalg.norm(knuckles)), 1e-6) * (1.0 if hand.handedness == "Right" else -1.0)
    flexion = np.degrees(np.arctan2(np.cross(u, v) @ axis, np.einsum("fjk,fjk->fj", u, v)))  # (5, 3)
    reliable = (ratios[:, :3] >= RELIABLE_SEGMENT) & (ratios[:, 1:] >= RELIABLE_SEGMENT)

    backward = _backward_fingers(flexion, reliable)
    mirrored = _backward_fingers(-flexion, reliable)
    label_consistent = not (len({f for f, _ in backward}) >= SWAP_MIN_FINGERS and not mirrored)
    if not label_consistent:
        flexion, backward = -flexion, mirrored

    path = lengths[:, 1:].sum(axis=1)
    straightness = np.linalg.norm(rays[:, 4] - rays[:, 1], axis=1) / np.maximum(path, 1e-6)
    ray_straightness = np.linalg.norm(rays[:, 4] - rays[:, 0], axis=1) / np.maximum(lengths.sum(axis=1), 1e-6)
    extended = straightness >= EXTENDED_STRAIGHTNESS
    extended[1:] &= ray_straightness[1:] >= EXTENDED_RAY  # the thumb's base moves too freely for the ray test

    reasons = [
        f"{FINGERS[f]} finger bent backwards {angle:.0f}° at the {JOINTS[j].upper()} joint "
        f"(limit {BACKWARD_LIMIT_DEG[JOINTS[j]]:.0f}°)"
        for (f, j), angle in sorted(backward.items())
    ]
    for f, s in zip(*np.nonzero(ratios[:, 1:] > TOO_LONG), strict=True):
        reasons.append(f"{FINGERS[f]}'s {SEGMENTS[s]} segment is {ratios[f, s + 1]:.1f}x its typical length "
                       f"(limit {TOO_LONG:g}x)")
    finger_ratio = path / (expected[:, 1:].sum(axis=1) * palm)
    for f in np.nonzero((finger_ratio < TOO_SHORT) & (straightness >= EXTENDED_STRAIGHTNESS))[0]:
        reasons.append(f"{FINGERS[f]} is {finger_ratio[f]:.2f}x its typical length (limit {TOO_SHORT:g}x)")
    return {
        "extended": {name: bool(e) for name, e in zip(FINGERS, extended, strict=True)},
        "extended_count": int(extended.sum()),
        "flexion_deg": {
            FINGERS[f]: {joint: round(float(flexion[f, j]), 1) if reliable[f, j] else None
                         for j, joint in enumerate(JOINTS)}
            for f in range(1, 5)
        },
        "segment_ratios": {name: np.round(ratios[f, 1:], 2).tolist() for f, name in enumerate(FINGERS)},
        "label_consistent": label_consistent,
        "plausible": not reasons,
        "reasons": reasons,
    }


def hand_report(hands: Sequence[Hand], size: tuple[int, int]) -> dict[str, Any]:
    """A JSON-ready report of detected hands: boxes, labels, MediaPipe confidences, landmarks and checks.

    Args:
        hands: the detected hands (``Detectors.hands``).
        size: the image's ``(width, height)``.

    Returns:
        ``{"hands": [{"box", "handedness", "score", "landmarks", "checks"}], "count", "mean_score", "message"}``;
        ``mean_score`` is None when no hand was found, and ``message`` is a sentence for the UI.
    """
    width, height = _check_size(size)
    entries = []
    for hand in hands:
        entries.append({
            "box": [int(v) for v in hand.box],
            "handedness": hand.handedness,
            "score": round(float(hand.score), 4),
            "landmarks": np.round(np.asarray(hand.landmarks)[:, :2].astype(np.float64), 1).tolist(),
            "checks": hand_checks(hand, (width, height)),
        })
    if not entries:
        message = (f"No hand found: MediaPipe detected no hand in this {width}x{height} image. Very small, blurred, "
                   "cut-off or heavily occluded hands are often missed; paint the hand as a mask to repair it anyway.")
        return {"hands": [], "count": 0, "mean_score": None, "message": message}
    mean = float(np.mean([e["score"] for e in entries]))
    odd = [e for e in entries if not e["checks"]["plausible"]]
    noun = "hand" if len(entries) == 1 else "hands"
    message = f"Found {len(entries)} {noun} (mean MediaPipe confidence {mean:.2f}); "
    if not odd:
        message += "all look anatomically plausible."
    else:
        details = "; ".join(f"{e['handedness']} {e['score']:.2f}: {', '.join(e['checks']['reasons'])}" for e in odd)
        message += f"{len(odd)} look{'s' if len(odd) == 1 else ''} implausible ({details})."
    return {"hands": entries, "count": len(entries), "mean_score": round(mean, 4), "message": message}


# --------------------------------------------------------------------------------------------------------------------
# Overlay
# --------------------------------------------------------------------------------------------------------------------
def overlay(image: ImageLike, hands: Sequence[Hand]) -> Image.Image:
    """The image with each hand's box, skeleton, landmarks and a ``"Left 0.97"`` label drawn on it (a new RGB image).

    Args:
        image: the image the hands were detected in.
        hands: the detected hands.
    """
    canvas = Image.fromarray(as_rgb_array(image).copy())
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(min(canvas.size) / 250))  # readable on thumbnails and on 2K images alike
    dot = line + 1
    font = ImageFont.load_default(size=max(10, round(min(canvas.size) / 30)))
    for i, hand in enumerate(hands):
        color = COLORS[i % len(COLORS)]
        x0, y0, x1, y1 = hand.box
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=color, width=line)
        xy = [(float(x), float(y)) for x, y in np.asarray(hand.landmarks)[:, :2]]
        for a, b in SKELETON:
            draw.line((xy[a], xy[b]), fill=color, width=line)
        for x, y in xy:
            draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(255, 255, 255), outline=color)
        label = f"{hand.handedness} {hand.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        text_h = bottom - top
        ty = y0 - text_h - 2 * line if y0 - text_h - 2 * line >= 0 else y0 + line  # above the box, or inside it
        draw.rectangle((x0, ty, x0 + right - left + 2 * line, ty + text_h + 2 * line), fill=color)
        draw.text((x0 + line - left, ty + line - top), label, fill=(0, 0, 0), font=font)
    return canvas


# --------------------------------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------------------------------
def _mask_of(mask: Any, shape: tuple[int, int], field: str) -> np.ndarray:
    """A bool ``HxW`` mask of the expected shape (internal arguments; user uploads go through ``check_mask``)."""
    array = np.asarray(mask)
    if array.shape != shape:
        raise InvalidInput(field, f"mask of shape {array.shape} does not match the image's {shape[1]}x{shape[0]} "
                                  f"(expected shape {shape})")
    return array.astype(bool, copy=False)


def _pixels(value: Any, field: str) -> int:
    return int(check_number(value, field, minimum=0, maximum=4096, integer=True))


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Grow a mask by ``px`` pixels (Euclidean disc).

    A distance transform rather than ``cv2.dilate``: it gives an exact disc and costs the same for any radius.
    """
    px = _pixels(px, "px")
    mask = np.asarray(mask).astype(bool)
    if px == 0 or not mask.any():
        return mask.copy()
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= px


def feather(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """A soft ``HxW`` float32 mask in [0, 1]: the edge blurred by a Gaussian of sigma ``radius_px / 2``.

    The ramp is centred on the edge (0.5 there), reaching ~0.98 ``radius_px`` inside and ~0.02 ``radius_px`` outside,
    as A1111's mask blur does, so composites blend without a seam.
    """
    radius = float(check_number(radius_px, "radius_px", minimum=0, maximum=4096))
    soft = np.asarray(mask).astype(np.float32)
    if radius == 0:
        return soft
    soft = cv2.GaussianBlur(soft, (0, 0), sigmaX=radius / 2, borderType=cv2.BORDER_REPLICATE)
    return np.clip(soft, 0.0, 1.0)


def tight_mask(hand: Hand, size: tuple[int, int], dilation_px: int = 0) -> np.ndarray:
    """The convex hull of the hand's 21 landmarks, optionally grown by ``dilation_px`` pixels."""
    width, height = _check_size(size)
    mask = np.zeros((height, width), dtype=np.uint8)
    # Pixel (i, j) covers [i, i+1): a landmark at x = 12.7 lies in column 12. fillConvexPoly clips to the image.
    hull = cv2.convexHull(np.floor(np.asarray(hand.landmarks)[:, :2]).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return dilate(mask.astype(bool), dilation_px)


def loose_mask(hand: Hand, size: tuple[int, int], padding: float = 0.25) -> np.ndarray:
    """The hand's box, padded on each side by ``padding`` of the box's width / height, clipped to the image."""
    width, height = _check_size(size)
    padding = float(check_number(padding, "padding", minimum=0, maximum=10))
    x0, y0, x1, y1 = hand.box
    pad_x, pad_y = padding * (x1 - x0), padding * (y1 - y0)
    mask = np.zeros((height, width), dtype=bool)
    mask[max(0, math.floor(y0 - pad_y)):min(height, math.ceil(y1 + pad_y)),
         max(0, math.floor(x0 - pad_x)):min(width, math.ceil(x1 + pad_x))] = True
    return mask


def union(masks: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """The union of masks of one image (all False for none)."""
    width, height = _check_size(size)
    merged = np.zeros((height, width), dtype=bool)
    for i, mask in enumerate(masks):
        merged |= _mask_of(mask, (height, width), f"masks[{i}]")
    return merged


def masks_for(hands: Sequence[Hand], size: tuple[int, int], kind: str = "tight", dilation_px: int = 0,
              padding: float = 0.25) -> np.ndarray:
    """The union of every hand's mask: ``"tight"`` (landmark hull grown by ``dilation_px``) or ``"loose"`` (box
    padded by ``padding``); all False when there is no hand."""
    if kind == "tight":
        return union([tight_mask(hand, size, dilation_px) for hand in hands], size)
    if kind == "loose":
        return union([loose_mask(hand, size, padding) for hand in hands], size)
    raise InvalidInput("kind", f"{kind!r} is not a mask kind; use 'tight' or 'loose'")


def check_mask(mask: Any, size: tuple[int, int], field: str = "mask") -> np.ndarray:
    """Validate a user-supplied mask and return it as a bool ``HxW`` array.

    Painted pixels count as masked: for images with transparency (RGBA, LA, palette with transparency, ``HxWx4``
    arrays) the alpha channel when it is not fully opaque, as in Gradio's ImageEditor layers; otherwise any non-zero
    value (white-on-black masks, bool arrays).

    Args:
        mask: a PIL image in any mode, or an ``HxW`` / ``HxWx{1,3,4}`` array.
        size: the ``(width, height)`` of the image the mask belongs to.
        field: the form field, for error messages.

    Raises:
        InvalidInput: not a mask, a size other than the image's (both sizes are named), or nothing masked.
    """
    width, height = _check_size(size)
    if isinstance(mask, Image.Image):
        if mask.mode == "P":
            mask = mask.convert("RGBA" if "transparency" in mask.info else "L")
        elif mask.mode in ("La", "RGBa", "PA"):
            mask = mask.convert("RGBA")
        elif mask.mode not in ("1", "L", "LA", "I", "F", "RGB", "RGBA") and not mask.mode.startswith("I;16"):
            mask = mask.convert("RGB")  # CMYK, YCbCr, HSV...: judge the visible colour
        array = np.asarray(mask)
    elif isinstance(mask, np.ndarray):
        array = mask
    else:
        raise InvalidInput(field, f"expected a mask image or array, got {type(mask).__name__}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise InvalidInput(field, f"a mask of shape {array.shape} is not HxW, HxWx3 or HxWx4")
    if array.shape[:2] != (height, width):
        raise InvalidInput(field, f"the mask is {array.shape[1]}x{array.shape[0]} but the image is {width}x{height}; "
                                  "draw the mask on this image or resize it to match")
    if array.dtype != bool and np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise InvalidInput(field, "the mask contains NaN or infinite values")
    if array.ndim == 3 and array.shape[2] in (2, 4):  # grey+alpha or RGBA
        alpha = array[..., -1]
        if alpha.dtype == bool:
            opaque: Any = True
        elif np.issubdtype(alpha.dtype, np.floating):
            opaque = 1.0
        else:
            opaque = np.iinfo(alpha.dtype).max
        # A layer with any transparency is a painted layer: alpha is the mask. A fully opaque one carries its mask
        # in the colours (a black-and-white mask saved as RGBA).
        result = alpha != 0 if (alpha < opaque).any() else (array[..., :-1] != 0).any(axis=2)
    elif array.ndim == 3:
        result = (array != 0).any(axis=2)
    else:
        result = array != 0
    if not result.any():
        raise InvalidInput(field, f"the mask is empty (nothing painted on the {width}x{height} image)")
    return np.asarray(result, dtype=bool)


# --------------------------------------------------------------------------------------------------------------------
# Cumulative mask schedule
# --------------------------------------------------------------------------------------------------------------------
def _curve(name: str, t: np.ndarray) -> np.ndarray:
    if name == "linear":
        return t
    if name == "cosine":  # slow at both ends
        return (1.0 - np.cos(np.pi * t)) / 2.0
    if name == "ease_in":  # slow start: the hand's shape settles before the context opens up
        return t * t
    return 1.0 - (1.0 - t) ** 2  # ease_out: fast start


def cumulative_schedule(tight: np.ndarray, loose: np.ndarray, steps: int, start: float = 0.0, end: float = 1.0,
                        curve: str = "linear") -> list[np.ndarray]:
    """The mask in force at each denoising step, growing from the tight mask towards the loose one (MGHanD's
    cumulative hand mask).

    The growth follows the Euclidean distance from the tight mask, so the mask widens smoothly by rings instead of
    jumping to the box. At step ``k`` the mask holds every pixel of ``tight | loose`` within ``g_k * reach`` of the
    tight mask, where ``reach`` is the farthest such pixel and ``g_k = start + (end - start) * curve(k / (steps-1))``.
    So step 0 is ``tight`` grown ``start`` of the way, the last step ``end`` of the way (exactly ``tight | loose`` at
    ``end = 1``), each mask contains the previous one, and every mask contains ``tight``. With one step the single
    mask is the final one.

    Args:
        tight: the tight hand mask (``HxW``, non-zero = masked); must not be empty.
        loose: the loose mask, same shape.
        steps: number of denoising steps (>= 1).
        start: growth at the first step, in [0, 1].
        end: growth at the last step, in [start, 1].
        curve: how growth is spread over the steps: one of ``CURVES``.

    Raises:
        InvalidInput: naming the argument, its value and the rule.
    """
    tight_arr = np.asarray(tight)
    if tight_arr.ndim != 2:
        raise InvalidInput("tight", f"expected an HxW mask, got shape {tight_arr.shape}")
    tight_arr = tight_arr.astype(bool)
    loose_arr = _mask_of(loose, tight_arr.shape, "loose")
    steps = int(check_number(steps, "steps", minimum=1, maximum=10_000, integer=True))
    start = float(check_number(start, "start", minimum=0, maximum=1))
    end = float(check_number(end, "end", minimum=0, maximum=1))
    if start > end:
        raise InvalidInput("start", f"{start:g} is above end={end:g}; the mask only grows (need start <= end)")
    if curve not in CURVES:
        raise InvalidInput("curve", f"{curve!r} is not one of {', '.join(CURVES)}")
    if not tight_arr.any():
        raise InvalidInput("tight", "the tight mask is empty: there is no hand to grow from")

    region = tight_arr | loose_arr
    distance = cv2.distanceTransform((~tight_arr).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    reach = float(distance[region].max())
    t = np.linspace(0.0, 1.0, steps) if steps > 1 else np.ones(1)
    growth = start + (end - start) * _curve(curve, t)
    growth[0], growth[-1] = (start if steps > 1 else end), end  # exact endpoints, whatever the float rounding
    return [region.copy() if g >= 1.0 else region & (distance <= g * reach) for g in growth]


def mask_strip(schedule: Sequence[np.ndarray], n: int = 8, height: int = 96) -> Image.Image:
    """``n`` evenly spaced masks of a schedule side by side (white = masked), each labelled with its step.

    Args:
        schedule: the masks, e.g. from ``cumulative_schedule``.
        n: how many to show (fewer when the schedule is shorter).
        height: height in pixels of each tile.
    """
    if len(schedule) == 0:
        raise InvalidInput("schedule", "the schedule has no masks")
    n = int(check_number(n, "n", minimum=1, maximum=64, integer=True))
    height = int(check_number(height, "height", minimum=16, maximum=2048, integer=True))
    shape = np.asarray(schedule[0]).shape
    picks = sorted({int(round(i)) for i in np.linspace(0, len(schedule) - 1, min(n, len(schedule)))})
    tiles = []
    for i in picks:
        mask = _mask_of(schedule[i], shape, f"schedule[{i}]")
        tile = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
        tiles.append(tile.resize((max(1, round(shape[1] * height / shape[0])), height), Image.Resampling.NEAREST))
    return labelled_grid(tiles, [f"step {i + 1}/{len(schedule)}" for i in picks])
