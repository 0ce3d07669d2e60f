"""OmniMamba generation: prompt -> 256 x 256 image, one more model of the text-to-image tab and its own endpoint.

The authors' ``scripts/inference_t2i.py`` and ``OmniMamba.t2i_generate``, step by step: the prompt's GPT-NeoX ids
left-padded with ``[PAD]`` to 68 (longer prompts keep their first 68 tokens), framed as ``<|t2i|> <|sot|> ... <|eot|>
<|soi|>`` (72 tokens), embedded, passed through ``caption_embed`` and given ``pos_embed[0:72]``; then, with the
generation LoRA, 256 image tokens sampled from ``img_head`` one by one, each fed back through the image embedding
at the next ``pos_embed`` position; finally the codes (16 x 16) decoded by LlamaGen's VQ-16. Sampling defaults to the
authors' greedy top-k 1 at temperature 1 without guidance.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import GenerationFailed
from backends.core.recipe import make_recipe
from backends.core.run import RunControl
from backends.core.validation import resolve_seed
from backends.tasks.omnimamba import model as lm_ops
from backends.tasks.omnimamba import vq
from backends.tasks.omnimamba.backend import OmniMambaBackend
from backends.tasks.omnimamba.sampling import guided, sample
from backends.tasks.omnimamba.types import (
    CAPTION_TOKENS,
    IMAGE_SIDE,
    IMAGE_TOKENS,
    NULL_PROMPT,
    OmniMambaImage,
    Sampling,
    check_generate_request,
    language_note,
    sampling_of,
)
from backends.tasks.omnimamba.vq import load_vq

REPORT_EVERY = 16  # progress events per this many image tokens


class OmniMambaGenerate(OmniMambaBackend):
    """Generates images with OmniMamba (see the module docstring; loading in ``OmniMambaBackend``)."""

    task = "t2i"
    vq: Any = None

    def load_task_parts(self, dtype: Any) -> None:
        """LlamaGen's VQ-16 from its training container (the ``model`` entry), strictly."""
        from backends.tasks.omnimamba.loader import read_file, state_dict_of

        state = state_dict_of(read_file(self.parts.vq), self.parts.vq.name)
        self.vq, _ = load_vq(state, self._where, dtype)

    def task_modules(self) -> list[Any]:
        """The VQ decoder."""
        return [self.vq]

    def unload(self) -> None:
        """Drop the decoder too."""
        super().unload()
        self.vq = None

    def check_inputs(self, request: Any) -> None:
        """Validate the prompt, size (256 only), seed and sampling settings (``check_generate_request``)."""
        check_generate_request(request, self.spec.name)

    def __call__(self, request: Any, control: RunControl | None = None) -> OmniMambaImage:
        """Generate one image for ``request`` (an ``OmniMambaGenerateRequest`` or a text-to-image request).

        Raises:
            InvalidInput: a bad prompt, size, seed or sampling setting.
            Cancelled: Stop was pressed (checked between tokens).
            GenerationFailed: the decoder produced NaN pixels.
        """
        import torch

        control = control or RunControl()
        # 1. validate and resolve the sampling settings
        self.check_inputs(request)
        settings = sampling_of(request, self.spec.defaults.options)
        seed = resolve_seed(getattr(request, "seed", None))
        generator = torch.Generator("cpu").manual_seed(seed)  # the same draws on every device
        started = time.perf_counter()

        # 2. sample 256 codes (conditional, plus the null prompt's branch when guided)
        with self.computing():
            codes = self.sample_codes(request.prompt.strip(), settings, generator, control)  # (1, 256)
            # 3. decode: (1, 256) codes -> (1, 3, 256, 256) in about [-1, 1]
            pixels = vq.decode_codes(self.vq, codes)
        array = ((pixels[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()
        if not np.isfinite(array).all():
            raise GenerationFailed(f"{self.spec.name} decoded NaN pixels in {self._dtype}; try STUDIO_DTYPE=float32")
        image = Image.fromarray((array * 255).round().astype(np.uint8))
        run_seconds = time.perf_counter() - started

        # 4. recipe
        note = language_note(request.prompt)
        recipe = make_recipe(
            self.provenance(), seed=seed, width=IMAGE_SIDE, height=IMAGE_SIDE, prompt=request.prompt,
            negative_prompt="", steps=None, guidance=settings.guidance, guidance_param="cfg on image logits",
            scheduler="autoregressive, 256 tokens", load_seconds=self.take_load_seconds(), run_seconds=run_seconds,
            extra={"temperature": settings.temperature, "top_k": settings.top_k, "top_p": settings.top_p,
                   "caption_tokens": CAPTION_TOKENS, "image_tokens": IMAGE_TOKENS, "decoder": "LlamaGen VQ-16",
                   **({"null_prompt": NULL_PROMPT} if settings.guidance != 1.0 else {}),
                   **({"language_note": note} if note else {})},
        )
        return OmniMambaImage(image=image, recipe=recipe, codes=[int(c) for c in codes[0].tolist()])

    # ----------------------------------------------------------------------------------------------------------------
    def prompt_ids(self, prompt: str) -> list[int]:
        """``<|t2i|> <|sot|>`` + the prompt's first 68 ids left-padded with ``[PAD]`` + ``<|eot|> <|soi|>``."""
        ids = self.tokenizer(prompt).input_ids[:CAPTION_TOKENS]
        padded = [self.token_ids["[PAD]"]] * (CAPTION_TOKENS - len(ids)) + list(ids)
        t = self.token_ids
        return [t["<|t2i|>"], t["<|sot|>"], *padded, t["<|eot|>"], t["<|soi|>"]]

    def sample_codes(self, prompt: str, settings: Sampling, generator: Any, control: RunControl) -> Any:
        """(1, 256) image codes for ``prompt``; batch row 1 is the null prompt when guidance is on."""
        import torch

        lm_ops.set_task(self.lm, "t2i")
        prompts = [prompt] + ([NULL_PROMPT] if settings.guidance != 1.0 else [])
        ids = torch.tensor([self.prompt_ids(p) for p in prompts], device=self._where)  # (B, 72)
        start = ids.shape[1]
        cache = lm_ops.new_cache(self.lm)
        hidden = lm_ops.last_hidden(self.lm, lm_ops.caption(self.lm, ids), cache)  # (B, d)
        codes = []
        for step in range(IMAGE_TOKENS):
            control.raise_if_stopped()
            logits = self.lm.img_head(hidden)  # (B, 16384)
            logits = guided(logits[:1], logits[1:] if logits.shape[0] > 1 else None, settings.guidance)
            code = sample(logits, settings.top_k, settings.top_p, settings.temperature, generator)  # (1,)
            codes.append(code)
            if (step + 1) % REPORT_EVERY == 0:
                control.report((step + 1) / IMAGE_TOKENS, f"{self.spec.name}: token {step + 1}/{IMAGE_TOKENS}")
            if step + 1 < IMAGE_TOKENS:  # the last code is decoded, not fed back
                fed = code[:, None].expand(ids.shape[0], 1)  # (B, 1): both branches continue with the chosen code
                hidden = lm_ops.last_hidden(self.lm, lm_ops.image_step(self.lm, fed, start + step), cache)
        return torch.stack(codes, dim=1)  # (1, 256)
