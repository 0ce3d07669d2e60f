"""OmniTry (arXiv:2508.13632): mask-free try-on on FLUX.1-Fill-dev, the GPU tier, built from diffusers parts.

OmniTry does not load with ``FluxFillPipeline.load_lora_weights``. What its code does, rebuilt here on the stock
pipeline without copying it:

* **a batch of two rows**: row 0 is the person, row 1 the garment padded on white to the person's size; both go
  through the Fill pipeline with an all-zero mask (nothing is masked: the person image is the condition) and the
  same prompt (``"replacing the top cloth"``...); row 0 is the output;
* **two LoRA adapters routed by row**: ``vtryon_lora`` acts on row 0 only, ``garment_lora`` on row 1, on every
  target layer. peft's mixed-batch inference does this routing (``adapter_names`` per row); a forward pre-hook on
  each LoRA layer passes the names, so the transformer's own forward is untouched;
* **per-row position ids**: each row's image tokens get RoPE ids whose first coordinate is the row index and whose
  width coordinate is shifted by ``row * latent_width``, as if the garment sat to the right of the person;
* **shared attention**: the person row's queries attend to its own tokens and the garment row's *image* tokens
  (not its text tokens); the garment row attends to itself. ``SharedRowAttention`` replaces ``FluxAttnProcessor``
  in every double- and single-stream block. The rows have the same length, so no padding mask is needed (OmniTry's
  SDPA fallback builds one that does not mask; see the reference notes).

Unverified: the released LoRA's key names (peft style with the adapter name, ``...to_q.lora_A.vtryon_lora.weight``,
as OmniTry's ``load_state_dict(strict=False)`` implies) and the prompts for bottoms and dresses; a file that does not
fit is refused with the keys it lacks. Needs about 28 GB of accelerator memory in bf16.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.recipe import Provenance, make_recipe
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number, check_seed, resolve_seed
from backends.models import weights
from backends.models.backend import PretrainedBackend
from backends.models.spec import ModelSpec
from backends.tasks.tryon import inputs
from backends.tasks.tryon.catvton import component
from backends.tasks.tryon.types import TryOnRequest, TryOnResult
from backends.vision.agnostic import check_category
from backends.vision.detectors import Detectors

MAX_SEQUENCE_LENGTH = 512  # T5 tokens: fixes where the text ends in every row's token sequence


class RowState:
    """What the processors need per call: each row's rotary embedding and the text length of the sequences."""

    def __init__(self) -> None:
        self.rotary: list[tuple[Any, Any]] = []
        self.text_len = 0


class SharedRowAttention:
    """A ``FluxAttnProcessor`` replacement: per-row RoPE, and row 0 also attends to row 1's image tokens.

    Args:
        state: the per-call rotary embeddings and text length, shared by every block's processor.
    """

    def __init__(self, state: RowState) -> None:
        self.state = state

    def __call__(self, attn: Any, hidden_states: Any, encoder_hidden_states: Any = None, attention_mask: Any = None,
                 image_rotary_emb: Any = None) -> Any:
        import torch
        import torch.nn.functional as F
        from diffusers.models.embeddings import apply_rotary_emb

        def heads(tensor: Any) -> Any:
            return tensor.unflatten(-1, (-1, attn.head_dim))  # (B, S, H, D)

        query = attn.norm_q(heads(attn.to_q(hidden_states)))
        key = attn.norm_k(heads(attn.to_k(hidden_states)))
        value = heads(attn.to_v(hidden_states))
        text_len = self.state.text_len  # single-stream blocks: text and image already concatenated
        if encoder_hidden_states is not None:  # double-stream blocks: the text stream has its own projections
            text_len = encoder_hidden_states.shape[1]
            query = torch.cat([attn.norm_added_q(heads(attn.add_q_proj(encoder_hidden_states))), query], dim=1)
            key = torch.cat([attn.norm_added_k(heads(attn.add_k_proj(encoder_hidden_states))), key], dim=1)
            value = torch.cat([heads(attn.add_v_proj(encoder_hidden_states)), value], dim=1)
        rows = query.shape[0]
        rotary = self.state.rotary or [image_rotary_emb] * rows
        query = torch.cat([apply_rotary_emb(query[b:b + 1], rotary[b], sequence_dim=1) for b in range(rows)])
        key = torch.cat([apply_rotary_emb(key[b:b + 1], rotary[b], sequence_dim=1) for b in range(rows)])
        outputs = []
        for b in range(rows):
            keys, values = key[b:b + 1], value[b:b + 1]
            if b == 0 and rows == 2:  # the person row also sees the garment row's image tokens
                keys = torch.cat([keys, key[1:2, text_len:]], dim=1)
                values = torch.cat([values, value[1:2, text_len:]], dim=1)
            out = F.scaled_dot_product_attention(query[b:b + 1].transpose(1, 2), keys.transpose(1, 2),
                                                 values.transpose(1, 2))  # (1, H, S, D)
            outputs.append(out.transpose(1, 2))
        hidden = torch.cat(outputs).flatten(2, 3).to(query.dtype)  # (B, S, H*D)
        if encoder_hidden_states is None:
            return hidden
        text, image = hidden[:, :text_len], hidden[:, text_len:]
        image = attn.to_out[1](attn.to_out[0](image.contiguous()))
        return image, attn.to_add_out(text.contiguous())


def row_ids(rows: int, height: int, width: int, device: Any, dtype: Any) -> list[Any]:
    """Per-row image position ids ``(height * width, 3)``: (row, y, x + row * width), OmniTry's layout."""
    import torch

    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    out = []
    for row in range(rows):
        ids = torch.stack([torch.full_like(y, row), y, x + row * width], dim=-1).reshape(-1, 3)
        out.append(ids.to(device=device, dtype=dtype))
    return out


def load_row_adapters(transformer: Any, state: dict[str, Any], adapters: tuple[str, ...]) -> dict[str, Any]:
    """Add one LoRA adapter per row and load them from OmniTry's file (peft keys with the adapter name).

    Raises:
        ModelUnavailable: the file has no keys of these adapters, keys the transformer lacks, or misses some.
    """
    from peft import LoraConfig

    first = [k for k in state if f".lora_A.{adapters[0]}." in k]
    if not first:
        raise ModelUnavailable(f"the LoRA file has no '{adapters[0]}' adapter keys (expected peft-style names such "
                               f"as 'transformer_blocks.0.attn.to_q.lora_A.{adapters[0]}.weight'; found e.g. "
                               f"{sorted(state)[:3]})")
    rank = int(state[first[0]].shape[0])
    targets = sorted({k.split(".lora_A.")[0] for k in first})
    with warnings.catch_warnings():  # peft warns that a second adapter makes "multiple adapters": that is the point
        warnings.simplefilter("ignore", UserWarning)
        for name in adapters:
            transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets), adapter_name=name)
    expected = {k for k in transformer.state_dict() if ".lora_" in k}
    unexpected = sorted(set(state) - expected)
    missing = sorted(expected - set(state))
    if unexpected or missing:
        raise ModelUnavailable(f"the LoRA file does not fit OmniTry's two adapters on this transformer: "
                               f"{len(unexpected)} unknown keys (e.g. {unexpected[:2]}), {len(missing)} missing "
                               f"(e.g. {missing[:2]})")
    transformer.load_state_dict(state, strict=False)
    return {"rank": rank, "targets": len(targets), "tensors": len(state)}


class OmniTry(PretrainedBackend):
    """OmniTry on ``FluxFillPipeline`` (see the module docstring).

    Args:
        spec: the registry entry (options: ``base``, ``steps``, ``guidance``, ``adapters``, ``prompts``...).
        settings: device, dtype, profile and offload policy.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.state = RowState()
        self.detectors: Detectors | None = None
        self.adapters: dict[str, Any] = {}
        self._hooks: list[Any] = []
        self._rows: tuple[str, ...] | None = None
        self._revision = ""

    @property
    def options(self) -> Any:
        """The registry's options."""
        return self.spec.defaults.options

    def load(self, report: ProgressFn | None = None) -> None:
        """FLUX.1-Fill, OmniTry's two adapters, the shared-attention processors and the row routing."""
        from safetensors.torch import load_file

        base = component(self.spec, "pipeline", self.options["base"], "FluxFillPipeline", None,
                         self.spec.architecture)
        self.loaded = weights.load_pretrained(base, self.settings, report)
        transformer = self.model.transformer
        path = self._lora_file(base)
        self.adapters = load_row_adapters(transformer, load_file(str(path)), tuple(self.options["adapters"]))
        transformer.to(self.loaded.device)
        transformer.set_attn_processor(SharedRowAttention(self.state))
        for module in transformer.modules():
            if hasattr(module, "lora_A") and hasattr(module, "base_layer"):
                self._hooks.append(module.register_forward_pre_hook(self._route, with_kwargs=True))
        self.detectors = Detectors()

    def provenance(self) -> Provenance:
        """The recipe's provenance: OmniTry's LoRA repo (its revision) on the FLUX.1-Fill pipeline."""
        return dataclasses.replace(super().provenance(), revision=self._revision,
                                   pipeline="FluxFillPipeline + OmniTry row adapters (person, garment)")

    def _lora_file(self, base: ModelSpec) -> Path:
        filename = self.spec.defaults.filename
        if self.settings.profile == "tiny":
            self._revision = f"tiny:{self.spec.architecture}:seed0"
            return weights.ensure_miniature(base, self.settings) / filename
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError

        try:
            path = hf_hub_download(self.spec.repo_id, filename, revision=self.spec.revision,
                                   local_files_only=self.settings.offline)
        except (OSError, ValueError, HfHubHTTPError) as exc:
            raise weights.missing_weights(self.spec, self.settings, exc) from exc
        self._revision = path.split("/snapshots/")[1].split("/")[0] if "/snapshots/" in path else self.spec.revision
        return Path(path)

    def _route(self, module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Give each LoRA layer the adapter of each batch row (peft's mixed-batch inference)."""
        if self._rows is not None and args and args[0].shape[0] == len(self._rows):
            kwargs = {**kwargs, "adapter_names": list(self._rows)}
        return args, kwargs

    @contextlib.contextmanager
    def _routed(self) -> Iterator[None]:
        self._rows = tuple(self.options["adapters"])
        try:
            yield
        finally:
            self._rows = None

    def unload(self) -> None:
        """Remove the hooks and drop the pipeline."""
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None
        super().unload()

    def check_inputs(self, request: TryOnRequest) -> None:
        """Validate the request; names the field, value and rule."""
        if not isinstance(request, TryOnRequest):
            raise InvalidInput("request", f"{self.spec.key} takes a TryOnRequest, not {type(request).__name__}")
        check_category(request.category)
        check_seed(request.seed)
        width = self.options["width"] if request.width is None else request.width
        height = self.options["height"] if request.height is None else request.height
        self.spec.size.check(width, height, self.spec.key)
        if request.steps is not None:
            check_number(request.steps, "steps", minimum=1, maximum=200, integer=True)
        if request.guidance is not None:
            check_number(request.guidance, "guidance", minimum=0, maximum=100)
        if request.person is None or request.garment is None:
            raise InvalidInput("person" if request.person is None else "garment", "no image was given")

    def __call__(self, request: TryOnRequest, control: RunControl | None = None) -> TryOnResult:
        """Dress the person: 1. validate; 2. inputs; 3. per-row positions; 4. the two-row Fill call; 5. recipe."""
        import torch

        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        width = int(self.options["width"] if request.width is None else request.width)
        height = int(self.options["height"] if request.height is None else request.height)
        steps = int(self.options["steps"] if request.steps is None else request.steps)
        guidance = float(self.options["guidance"] if request.guidance is None else request.guidance)
        seed = resolve_seed(request.seed)
        started = time.perf_counter()
        # 2. the person (largest, cropped) and the garment padded on white to the person's size
        prepared = inputs.prepare(request.person, request.garment, width, height, self.detectors)
        warnings = list(prepared.warnings)
        if request.mask is not None:
            warnings.append(f"{self.spec.name} is mask-free: the mask given was not used")
        pipe = self.model
        prompt = self.options["prompts"][request.category]
        with self.computing(), self._routed():
            # 3. per-row RoPE over the packed latent grid (height/16 x width/16 tokens per row)
            grid = (height // (pipe.vae_scale_factor * 2), width // (pipe.vae_scale_factor * 2))
            transformer = pipe.transformer
            text_ids = torch.zeros(MAX_SEQUENCE_LENGTH, 3, device=self.device, dtype=transformer.dtype)
            self.state.text_len = MAX_SEQUENCE_LENGTH
            self.state.rotary = [transformer.pos_embed(torch.cat([text_ids, ids]))
                                 for ids in row_ids(2, *grid, self.device, transformer.dtype)]
            # 4. one Fill call, batch of two rows, nothing masked; row 0 is the person wearing the garment
            blank = Image.new("L", (width, height), 0)
            try:
                image = pipe(prompt=[prompt, prompt], image=[prepared.person, prepared.garment],
                             mask_image=[blank, blank], height=height, width=width, num_inference_steps=steps,
                             guidance_scale=guidance, max_sequence_length=MAX_SEQUENCE_LENGTH,
                             generator=torch.Generator("cpu").manual_seed(seed),
                             callback_on_step_end=control.step_callback(self.spec.name, steps)).images[0]
            finally:
                self.state.rotary = []
        # 5. the recipe
        recipe = make_recipe(
            self.provenance(), seed=seed, width=width, height=height, prompt=prompt, steps=steps, guidance=guidance,
            guidance_param="guidance_scale", scheduler=type(pipe.scheduler).__name__,
            load_seconds=self.take_load_seconds(), run_seconds=time.perf_counter() - started,
            extra={"task": "tryon", "method": "mask-free", "category": request.category, "base": self.options["base"],
                   "adapters": list(self.options["adapters"]), "lora": self.adapters, "rows": "person, garment",
                   "mask": "none (mask-free)", "person_crop": list(prepared.box), "people": prepared.people,
                   "warnings": warnings, "license": self.spec.license},
        )
        return TryOnResult(image, recipe, prepared.person, prepared.garment, None, warnings)
