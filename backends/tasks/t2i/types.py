"""Text-to-image requests and results, and their checks: torch-free, shared by the backends, tabs and executors."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from backends.core.recipe import Recipe
from backends.core.text import check_prompt
from backends.core.validation import check_number, check_seed
from backends.models.spec import ModelSpec

MAX_GUIDANCE = 30.0


@dataclass
class T2IRequest:
    """One text-to-image generation, the same for every model compared side by side.

    Attributes:
        prompt: the prompt in Chinese, English or both; text in quotes is text to render.
        negative_prompt: what to avoid ("" for none).
        seed: the seed, or None to draw one (the result reports the seed used).
        width: output width in pixels.
        height: output height in pixels.
        steps: denoising steps, or None for the model card's default.
        guidance: guidance strength, or None for the model card's default; each model maps it onto its own
            parameter (``guidance_scale``, Qwen-Image's ``true_cfg_scale``, HunyuanImage's guider...).
    """

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance: float | None = None


@dataclass
class T2IResult:
    """One generated image with its recipe."""

    image: Image.Image
    recipe: Recipe


def check_t2i_request(spec: ModelSpec, request: T2IRequest) -> None:
    """Validate a text-to-image request against ``spec``'s rules (shared by the local and remote backends).

    Raises:
        InvalidInput: naming the field, the value and the rule.
    """
    check_prompt(request.prompt, "prompt")
    check_prompt(request.negative_prompt, "negative_prompt", required=False)
    spec.size.check(request.width, request.height, spec.key)
    check_seed(request.seed)
    if request.steps is not None:
        check_number(request.steps, "steps", minimum=1, maximum=spec.generation.max_steps, integer=True)
    if request.guidance is not None:
        check_number(request.guidance, "guidance", minimum=0, maximum=MAX_GUIDANCE)
