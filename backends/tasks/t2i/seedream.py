"""Seedream through its public API (BytePlus ModelArk / Volcengine Ark ``images/generations``), so the closed model
the digest's bilingual paper describes can stand in a side-by-side comparison.

The endpoint is OpenAI-images compatible: ``POST {base}/images/generations`` with a bearer key and a JSON body
(``model``, ``prompt``, ``size`` "WxH", ``seed``, ``guidance_scale`` for 3.0, ``response_format``,
``watermark``); the reply's ``data`` holds ``b64_json`` or a short-lived ``url`` per image, or an ``error``.
Field names are those of the Ark API reference (see ``../shared/reference/models.md`` section 2.3).
"""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.recipe import Provenance, make_recipe
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.validation import resolve_seed
from backends.models.spec import ModelSpec
from backends.tasks.t2i.types import T2IRequest, T2IResult, check_t2i_request

TIMEOUT_SECONDS = 120.0


class SeedreamAPI:
    """Text-to-image through the Ark images API; "loading" opens an HTTP client (needs ``ARK_API_KEY``).

    Args:
        spec: the registry entry.
        settings: holds the key, base URL and Ark model id.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.client: httpx.Client | None = None

    def load(self, report: ProgressFn | None = None) -> None:
        """Open the HTTP client; without a key the model is unavailable."""
        if not self.settings.ark_api_key:
            raise ModelUnavailable(
                "Seedream runs through the ModelArk / Ark API and needs a key: set ARK_API_KEY (and "
                "STUDIO_ARK_BASE_URL for Volcengine) before starting the studio"
            )
        self.client = httpx.Client(
            base_url=self.settings.ark_base_url,
            headers={"Authorization": f"Bearer {self.settings.ark_api_key}"},
            timeout=TIMEOUT_SECONDS,
        )

    def check_inputs(self, request: T2IRequest) -> None:
        """Same rules as the local models; the API's own size range is the spec's size rule."""
        check_t2i_request(self.spec, request)

    def unload(self) -> None:
        """Close the HTTP client."""
        if self.client is not None:
            self.client.close()
        self.client = None

    def memory_bytes(self) -> int:
        """Nothing is held locally."""
        return 0

    def __call__(self, request: T2IRequest, control: RunControl | None = None) -> T2IResult:
        """Generate one image through the API.

        Raises:
            InvalidInput: the request breaks a rule, or the API refused the prompt.
            ModelUnavailable: the API is unreachable, refused the key, or failed.
        """
        if self.client is None:
            raise RuntimeError("SeedreamAPI is not loaded; use it through the ModelCache")
        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        control.raise_if_stopped()
        seed = resolve_seed(request.seed)
        model_id = self.settings.seedream_model
        # guidance_scale exists for Seedream 3.0 text-to-image only; later versions reject or ignore it.
        takes_guidance = "seedream-3" in model_id
        guidance = None
        if takes_guidance:
            guidance = request.guidance if request.guidance is not None else self.spec.generation.guidance

        # 2. request the image
        body: dict[str, Any] = {
            "model": model_id,
            "prompt": request.prompt.strip(),
            "size": f"{request.width}x{request.height}",
            "seed": seed,
            "response_format": "b64_json",
            "watermark": False,
        }
        if guidance is not None:
            body["guidance_scale"] = guidance
        control.report(0.05, f"{self.spec.name}: waiting for the API")
        started = time.perf_counter()
        reply = self._post(body)

        # 3. decode the first image (b64_json, or a URL to download at once: they expire)
        image = self._decode(reply)
        run_seconds = time.perf_counter() - started
        control.report(1.0, f"{self.spec.name}: done")

        # 4. recipe: the model the API reports having run is the revision
        served = str(reply.get("model", model_id))
        source = Provenance(model=self.spec.key, name=self.spec.name, repo_id=f"ark:{served}", revision=served,
                            profile="remote", pipeline="ark images/generations", device="remote", dtype="n/a")
        recipe = make_recipe(
            source, seed=seed, width=image.width, height=image.height, prompt=request.prompt, guidance=guidance,
            guidance_param="guidance_scale" if guidance is not None else None, run_seconds=run_seconds,
            extra={"api": self.settings.ark_base_url, "requested_size": body["size"]},
        )
        return T2IResult(image=image, recipe=recipe)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.post("/images/generations", json=body)
        except httpx.TimeoutException as exc:
            raise ModelUnavailable(f"the Seedream API did not answer within {TIMEOUT_SECONDS:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"cannot reach the Seedream API at {self.settings.ark_base_url}: {exc}") from exc
        message = _error_message(response)
        if response.status_code in (401, 403):
            raise ModelUnavailable(f"the Seedream API refused the key (HTTP {response.status_code}): {message}")
        if response.status_code == 429:
            raise ModelUnavailable(f"the Seedream API is rate limiting this key: {message}")
        if 400 <= response.status_code < 500:
            raise InvalidInput("prompt", f"the Seedream API refused the request (HTTP {response.status_code}): "
                                         f"{message}")
        if response.status_code >= 500:
            raise ModelUnavailable(f"the Seedream API failed (HTTP {response.status_code}): {message}")
        try:
            return response.json()
        except ValueError as exc:
            raise ModelUnavailable("the Seedream API answered with something that is not JSON") from exc

    def _decode(self, reply: dict[str, Any]) -> Image.Image:
        items = reply.get("data") or []
        if not items:
            raise ModelUnavailable(f"the Seedream API returned no image: {reply.get('error') or reply}")
        item = items[0]
        if "error" in item:
            error = item["error"] or {}
            raise InvalidInput("prompt", f"the Seedream API did not generate the image: "
                                         f"{error.get('message') or error.get('code') or error}")
        if item.get("b64_json"):
            data = base64.b64decode(item["b64_json"])
        elif item.get("url"):
            data = self._download(str(item["url"]))
        else:
            raise ModelUnavailable("the Seedream API returned neither b64_json nor url")
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise ModelUnavailable("the Seedream API returned data that is not an image") from exc
        return image.convert("RGB")


    def _download(self, url: str) -> bytes:
        """Fetch an image URL the reply names, without the key: the key goes only to the configured API host, never
        to a host a response chose (a tampered reply must not be able to collect it)."""
        if httpx.URL(url).scheme not in ("http", "https"):
            raise ModelUnavailable(f"the Seedream API named an image URL that is not an http(s) URL: {url[:80]!r}")
        try:
            with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as plain:
                return plain.get(url).raise_for_status().content
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"could not download the Seedream image: {exc}") from exc


def _error_message(response: httpx.Response) -> str:
    """The API's error message (``{"error": {"code", "message"}}``) or the start of the body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200]
    if isinstance(error, dict):
        return f"{error.get('code', '')} {error.get('message', '')}".strip()
    return str(error or "")[:200]
