"""PNG info: the generation settings stored in an image by this studio, by AUTOMATIC1111 or by ComfyUI.

- This studio writes a ``studio_recipe`` JSON chunk (and an A1111-style ``parameters`` chunk beside it).
- AUTOMATIC1111 (and Forge, Fooocus in A1111 mode) writes ``parameters``: the prompt, an optional
  ``Negative prompt: ...`` line, then one line of ``Key: value`` pairs (``Steps: 20, Sampler: Euler a, CFG scale: 7,
  Seed: 1, Size: 512x768, Model: ...``), values with commas in JSON quotes. In JPEG and WebP the same text is the
  EXIF UserComment.
- ComfyUI writes ``prompt`` (the executed graph, ``{node id: {"class_type", "inputs"}}``, links as ``[node id,
  output]``) and ``workflow`` (the editor's graph: ``nodes`` with ``widgets_values`` and a ``links`` table). The
  sampler node (KSampler, KSamplerAdvanced, SamplerCustom...) gives seed, steps and CFG; its positive and negative
  inputs lead (through combiners and LoRA loaders) to the text encoders, its latent input to the size, its model
  input to the checkpoint.

``read_settings`` returns one ``PngSettings`` whatever the source, so the UI can fill its form from it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from backends.core.errors import InvalidInput

RECIPE_KEY = "studio_recipe"
SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
# A1111's "Key: value" pairs: a key of words, then a JSON-quoted value or anything up to the next comma.
PAIR = re.compile(r'\s*([A-Za-z][\w \-/().]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
MAX_DEPTH = 12  # links followed from the sampler before giving up (graphs are small; cycles are not)


@dataclass
class PngSettings:
    """Generation settings read from an image.

    Attributes:
        source: ``studio``, ``a1111``, ``comfyui`` or ``none`` (no settings found).
        prompt: the prompt ("" when unknown).
        negative_prompt: the negative prompt.
        seed: the seed.
        steps: denoising steps.
        guidance: CFG / guidance scale.
        width: width in pixels.
        height: height in pixels.
        model: the model or checkpoint name as the tool wrote it (a registry key for this studio's images).
        sampler: sampler / scheduler name.
        extra: everything else the source said (A1111 pairs, ComfyUI node types).
    """

    source: str = "none"
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    model: str | None = None
    sampler: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def read_settings(source: str | Path | bytes | Image.Image) -> PngSettings:
    """The settings stored in an image (a path, its bytes or an opened image), from whichever tool made it.

    Raises:
        InvalidInput: naming ``image`` when the file is not an image.
    """
    try:
        image = source if isinstance(source, Image.Image) else Image.open(
            io.BytesIO(source) if isinstance(source, bytes) else source)
        chunks = dict(getattr(image, "text", None) or {})  # PNG text chunks, wherever they sit in the file
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput("image", f"could not be read as an image ({type(exc).__name__})") from None
    chunks.update({k: v for k, v in image.info.items() if isinstance(v, str) and k not in chunks})
    if RECIPE_KEY in chunks:
        return from_recipe(_json(chunks[RECIPE_KEY]))
    if "parameters" in chunks:
        return from_a1111(chunks["parameters"])
    if "prompt" in chunks or "workflow" in chunks:
        graph = _json(chunks.get("prompt", ""))
        if graph:
            return from_comfy_prompt(graph)
        return from_comfy_workflow(_json(chunks.get("workflow", "")))
    comment = _exif_comment(image)
    return from_a1111(comment) if comment else PngSettings()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _exif_comment(image: Image.Image) -> str:
    """A1111's parameters in a JPEG or WebP: the EXIF UserComment (character code prefix, then UTF-16 or ASCII)."""
    try:
        raw = image.getexif().get_ifd(0x8769).get(0x9286)
    except (AttributeError, KeyError, ValueError, OSError):
        return ""
    if not isinstance(raw, bytes):
        return str(raw or "")
    code, body = raw[:8], raw[8:]
    if code.startswith(b"UNICODE"):
        big = body[:2] != b"\xff\xfe" and (len(body) < 2 or body[0] == 0)
        return body.decode("utf-16-be" if big else "utf-16-le", errors="ignore").strip("\x00")
    return body.decode("utf-8", errors="ignore").strip("\x00")


def _number(value: Any, kind: type) -> Any:
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        return None


def from_recipe(recipe: Mapping[str, Any] | None) -> PngSettings:
    """Settings from this studio's JSON recipe."""
    recipe = recipe or {}
    return PngSettings(
        source="studio", prompt=str(recipe.get("prompt", "")),
        negative_prompt=str(recipe.get("negative_prompt") or ""),
        seed=_number(recipe.get("seed"), int), steps=_number(recipe.get("steps"), int),
        guidance=_number(recipe.get("guidance"), float), width=_number(recipe.get("width"), int),
        height=_number(recipe.get("height"), int), model=recipe.get("model"), sampler=recipe.get("scheduler"),
        extra={k: recipe[k] for k in ("name", "repo_id", "revision", "profile") if k in recipe})


def from_a1111(text: str) -> PngSettings:
    """Settings from A1111 "infotext" (the ``parameters`` chunk)."""
    lines = str(text or "").strip().splitlines()
    pairs: dict[str, str] = {}
    if lines and re.match(r"\s*Steps:\s*\d", lines[-1]):
        for key, value in PAIR.findall(lines.pop()):
            value = value.strip()
            pairs[key.strip()] = _json(value) if value.startswith('"') else value
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    width = height = None
    size = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", str(pairs.get("Size", "")))
    if size:
        width, height = int(size.group(1)), int(size.group(2))
    known = {"Steps", "Sampler", "CFG scale", "Seed", "Size", "Model"}
    return PngSettings(
        source="a1111", prompt="\n".join(prompt).strip(), negative_prompt="\n".join(negative).strip(),
        seed=_number(pairs.get("Seed"), int), steps=_number(pairs.get("Steps"), int),
        guidance=_number(pairs.get("CFG scale"), float), width=width, height=height,
        model=pairs.get("Model") or None, sampler=pairs.get("Sampler") or None,
        extra={k: v for k, v in pairs.items() if k not in known})


def from_comfy_prompt(graph: Mapping[str, Any]) -> PngSettings:
    """Settings from ComfyUI's executed graph (the ``prompt`` chunk)."""
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, Mapping)}

    def node(link: Any) -> Mapping[str, Any] | None:
        return nodes.get(str(link[0])) if isinstance(link, list) and link else None

    def text(link: Any, depth: int = 0) -> str:
        """The text a conditioning or string input leads to (combiners: their first text found)."""
        current = node(link)
        if current is None or depth > MAX_DEPTH:
            return str(link) if isinstance(link, str) else ""
        inputs = current.get("inputs", {})
        for key in ("text", "text_g", "string", "value", "prompt"):
            if isinstance(inputs.get(key), str):
                return inputs[key]
        for value in inputs.values():
            if isinstance(value, list):
                found = text(value, depth + 1)
                if found:
                    return found
        return ""

    def upstream(link: Any, keys: tuple[str, ...], depth: int = 0) -> Mapping[str, Any] | None:
        """The first node up a chain of links whose inputs hold one of ``keys`` (e.g. the checkpoint loader)."""
        current = node(link)
        if current is None or depth > MAX_DEPTH:
            return None
        inputs = current.get("inputs", {})
        if any(k in inputs and not isinstance(inputs[k], list) for k in keys):
            return inputs
        return next((found for v in inputs.values() if isinstance(v, list)
                     for found in [upstream(v, keys, depth + 1)] if found), None)

    sampler = next((n for n in nodes.values() if n.get("class_type") in SAMPLERS), None)
    if sampler is None:
        kinds = sorted({str(n.get("class_type")) for n in nodes.values()})
        return PngSettings(source="comfyui", extra={"nodes": kinds})
    inputs = sampler.get("inputs", {})
    latent = upstream(inputs.get("latent_image"), ("width",)) or {}
    checkpoint = upstream(inputs.get("model"), ("ckpt_name", "unet_name", "model_name")) or {}
    seed = inputs.get("seed", inputs.get("noise_seed"))
    if isinstance(seed, list):  # a seed from another node (a primitive or a random-seed node)
        seed = (upstream(seed, ("seed", "noise_seed", "value")) or {}).get("seed")
    return PngSettings(
        source="comfyui", prompt=text(inputs.get("positive")), negative_prompt=text(inputs.get("negative")),
        seed=_number(seed, int), steps=_number(inputs.get("steps"), int), guidance=_number(inputs.get("cfg"), float),
        width=_number(latent.get("width"), int), height=_number(latent.get("height"), int),
        model=next((checkpoint[k] for k in ("ckpt_name", "unet_name", "model_name") if k in checkpoint), None),
        sampler=" ".join(str(inputs[k]) for k in ("sampler_name", "scheduler") if k in inputs) or None,
        extra={"sampler_node": sampler.get("class_type")})


def from_comfy_workflow(workflow: Mapping[str, Any] | None) -> PngSettings:
    """Settings from ComfyUI's editor graph (the ``workflow`` chunk), for files saved without ``prompt``."""
    workflow = workflow or {}
    nodes = {n.get("id"): n for n in workflow.get("nodes", []) if isinstance(n, Mapping)}
    links = {row[0]: row for row in workflow.get("links", []) if isinstance(row, list) and len(row) >= 5}

    def source(target: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
        for entry in target.get("inputs", []) or []:
            if entry.get("name") == name and entry.get("link") in links:
                return nodes.get(links[entry["link"]][1])
        return None

    def widgets(target: Mapping[str, Any] | None) -> list[Any]:
        values = (target or {}).get("widgets_values", [])
        return list(values.values()) if isinstance(values, Mapping) else list(values or [])

    def text(target: Mapping[str, Any] | None, depth: int = 0) -> str:
        if target is None or depth > MAX_DEPTH:
            return ""
        found = next((w for w in widgets(target) if isinstance(w, str) and w.strip()), "")
        if found and "Text" in str(target.get("type", "")):
            return found
        for entry in target.get("inputs", []) or []:
            if entry.get("link") in links:
                deeper = text(nodes.get(links[entry["link"]][1]), depth + 1)
                if deeper:
                    return deeper
        return found

    sampler = next((n for n in nodes.values() if n.get("type") in SAMPLERS), None)
    if sampler is None:
        return PngSettings(source="comfyui" if nodes else "none")
    values = widgets(sampler)
    # KSampler: seed, control_after_generate, steps, cfg, sampler_name, scheduler, denoise; Advanced adds a flag first.
    offset = 1 if sampler.get("type") == "KSamplerAdvanced" else 0
    padded = values + [None] * 8
    seed, steps, cfg = padded[offset], padded[offset + 2], padded[offset + 3]
    size = widgets(source(sampler, "latent_image"))
    model_node, hops = source(sampler, "model"), 0
    while model_node is not None and "Checkpoint" not in str(model_node.get("type")) and hops < MAX_DEPTH:
        model_node, hops = source(model_node, "model"), hops + 1
    return PngSettings(
        source="comfyui", prompt=text(source(sampler, "positive")), negative_prompt=text(source(sampler, "negative")),
        seed=_number(seed, int), steps=_number(steps, int), guidance=_number(cfg, float),
        width=_number(size[0], int) if size else None, height=_number(size[1], int) if len(size) > 1 else None,
        model=next(iter(widgets(model_node)), None) if model_node else None,
        sampler=" ".join(str(v) for v in values[offset + 4:offset + 6]) or None,
        extra={"sampler_node": sampler.get("type"), "from": "workflow"})
