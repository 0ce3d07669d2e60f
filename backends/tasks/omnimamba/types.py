"""OmniMamba requests and results (torch-free): what tabs and executors import.

Understanding takes the shared ``VQARequest`` and returns a ``VQAResult`` (``backends.vision.vqa``), so OmniMamba is
one more engine of the face tab's Q&A. Generation takes an ``OmniMambaGenerateRequest`` (this endpoint, with the
authors' sampling settings) or any text-to-image request of the same shape (the text-to-image tab's ``T2IRequest``:
``prompt``, ``seed``, ``width``, ``height``, ``steps``, ``guidance``; read by name, since tasks never import each
other), and returns an ``OmniMambaImage`` (``image`` and ``recipe``, as the text-to-image tab reads them).

The token protocol (arXiv:2503.08686; hustvl/OmniMamba ``scripts/inference_*.py``):

* understanding: ``<|mmu|> <|soi|> [729 image embeddings] <|eoi|> <|sot|> "USER: {question} ASSISTANT:"``, greedy
  decoding of text tokens until ``<|endoftext|>``;
* generation: ``<|t2i|> <|sot|> [prompt left-padded with [PAD] to 68 tokens] <|eot|> <|soi|>``, then 256 image
  tokens (16 x 16 codes of the LlamaGen VQ-16 tokenizer) sampled one by one and decoded to 256 x 256 pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.recipe import Recipe
from backends.core.text import check_prompt, detect_language
from backends.core.validation import check_number, check_seed
from backends.vision.vqa import MAX_NEW_TOKENS, VQARequest, VQAResult  # understanding: the shared Q&A types

__all__ = ["AUTHORS_SAMPLING", "CAPTION_TOKENS", "IMAGE_SIDE", "IMAGE_TOKENS", "MAX_NEW_TOKENS", "NULL_PROMPT",
           "OmniMambaGenerateRequest", "OmniMambaImage", "Sampling", "VQARequest", "VQAResult",
           "check_generate_request", "language_note", "sampling_of"]

#: The task tokens added to the GPT-NeoX tokenizer after ``[PAD]``, in the authors' order (ids 50278..50286).
SPECIAL_TOKENS = ("<|soi|>", "<|eoi|>", "<|sot|>", "<|eot|>", "<|t2i|>", "<|mmu|>", "<|soc|>", "<|eoc|>", "<|lvg|>")
PAD_TOKEN = "[PAD]"
CAPTION_TOKENS = 68  # the prompt's tokens, left-padded (inference_t2i.py, MSCOCOFeatureDataset.max_token_len)
IMAGE_TOKENS = 256  # 16 x 16 codes
IMAGE_SIDE = 256  # pixels: LlamaGen VQ-16 decodes 16 x 16 codes to 256 x 256
#: Sampling settings of the authors' scripts: greedy (top-k 1) at temperature 1, no nucleus, no guidance.
AUTHORS_SAMPLING: Mapping[str, float] = MappingProxyType({"guidance": 1.0, "temperature": 1.0, "top_k": 1,
                                                          "top_p": 0.0})
MAX_GUIDANCE = 20.0
MAX_TOP_K = 16384
#: The unconditional prompt for guidance > 1: the null prompt of the authors' t2i dataset (``MSCOCOFeatureDataset``).
NULL_PROMPT = "A picture"
ENGLISH_NOTE = "OmniMamba was trained on English captions and questions; other languages are out of its domain"


def language_note(text: str) -> str:
    """Empty for English text, else why the answer or image may be meaningless (recorded in the recipe)."""
    return "" if detect_language(text) == "en" else ENGLISH_NOTE


@dataclass
class OmniMambaGenerateRequest:
    """Text-to-image with OmniMamba.

    Attributes:
        prompt: an English prompt (other languages are accepted but out of the model's domain, and the recipe says
            so); longer than 68 tokens is cut, as the authors cut it.
        seed: the seed, or None to draw one (only matters when sampling: ``top_k`` != 1).
        guidance: classifier-free guidance on the image logits; 1 is off (the authors' setting: the released model
            was trained without caption dropout, so > 1 extrapolates from the null prompt "A picture").
        temperature: softmax temperature of the sampled image tokens.
        top_k: sample among the k most likely codes; 1 is greedy (the authors' setting), 0 is no limit.
        top_p: nucleus mass inside the top-k; 0 (or 1) is off (the authors' setting).
        width: output width; OmniMamba makes 256 x 256 images only.
        height: output height; 256 only.
    """

    prompt: str
    seed: int | None = None
    guidance: float = 1.0
    temperature: float = 1.0
    top_k: int = 1
    top_p: float = 0.0
    width: int = IMAGE_SIDE
    height: int = IMAGE_SIDE


@dataclass
class OmniMambaImage:
    """One generated image, its 256 codes (row-major 16 x 16) and its recipe."""

    image: Image.Image
    recipe: Recipe
    codes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Sampling:
    """Resolved sampling settings of one generation."""

    guidance: float
    temperature: float
    top_k: int
    top_p: float


def sampling_of(request: Any, defaults: Mapping[str, Any] = AUTHORS_SAMPLING) -> Sampling:
    """The sampling settings a generation request asks for; ``defaults`` (the registry's, the authors' by default)
    where it has none (a text-to-image tab request carries only ``guidance``, and None there means the default)."""

    def pick(name: str) -> Any:
        value = getattr(request, name, None)
        return defaults.get(name, AUTHORS_SAMPLING[name]) if value is None else value

    return Sampling(guidance=float(pick("guidance")), temperature=float(pick("temperature")),
                    top_k=int(pick("top_k")), top_p=float(pick("top_p")))


def check_generate_request(request: Any, model: str = "OmniMamba") -> None:
    """Validate a generation request (``OmniMambaGenerateRequest`` or a text-to-image request of the same shape).

    Raises:
        InvalidInput: naming ``prompt``, ``width``/``height``, ``seed``, ``steps``, ``guidance``, ``temperature``,
            ``top_k`` or ``top_p``.
    """
    check_prompt(getattr(request, "prompt", None), "prompt")
    check_prompt(getattr(request, "negative_prompt", ""), "negative_prompt", required=False)
    for name in ("width", "height"):
        side = check_number(getattr(request, name, IMAGE_SIDE), name, integer=True)
        if side != IMAGE_SIDE:
            raise InvalidInput(name, f"{side} is not supported: {model} makes {IMAGE_SIDE}x{IMAGE_SIDE} images only "
                                     f"({IMAGE_TOKENS} VQ-16 tokens)")
    check_seed(getattr(request, "seed", None))
    steps = getattr(request, "steps", None)
    if steps is not None:  # a text-to-image tab request: accepted and ignored (256 tokens, one per step)
        check_number(steps, "steps", minimum=1, maximum=1000, integer=True)
    if getattr(request, "guidance", None) is not None:
        check_number(request.guidance, "guidance", minimum=1, maximum=MAX_GUIDANCE)
    check_number(getattr(request, "temperature", 1.0), "temperature", minimum=0.01, maximum=10.0)
    check_number(getattr(request, "top_k", 1), "top_k", minimum=0, maximum=MAX_TOP_K, integer=True)
    check_number(getattr(request, "top_p", 0.0), "top_p", minimum=0.0, maximum=1.0)
