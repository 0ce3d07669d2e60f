"""Scores of try-on results: what the try-on papers report, and what the mask-free versus mask-based comparison needs.

Per item and method:

* SSIM and PSNR against the ground truth (scikit-image, images in [0, 1]; paired setting only);
* preservation outside the garment region, against the input person: PSNR over the pixels outside the region and the
  mean of SSIM's map over the windows wholly outside it. A mask-based model keeps those pixels by construction (up to
  the VAE); a mask-free model must learn not to repaint the background, which is exactly what this measures;
* LPIPS against the ground truth when an LPIPS network is given.

Per method: the means, and FID / KID between the outputs and a real set (the ground truths, or a folder of real photos
in the unpaired setting) when a feature extractor is given. KID is the unbiased MMD^2 with the cubic polynomial
kernel ``k(x, y) = (x.y / d + 1)^3`` averaged over random subsets (Binkowski et al., arXiv:1801.01401).

Caveat, said in the result: paired scores are trivial for a mask-free model when the input person already wears the
target garment (returning the input scores perfectly); MF-VITON-style evaluation feeds persons wearing *other*
garments (synthesised, e.g. by this studio's data engine) or reports unpaired FID / KID.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.imaging import IMAGE_SUFFIXES, load_image
from backends.core.paths import confine
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.models.spec import ModelSpec
from backends.tasks.tryon.types import TryOnScoreRequest, TryOnScoreResult
from backends.vision import metrics

COLUMNS = ("id", "method", "ssim", "psnr", "preserved_ssim", "preserved_psnr", "lpips")
PAIRED_CAVEAT = ("paired SSIM / PSNR / LPIPS are trivial for a mask-free model when the input person already wears "
                 "the target garment (returning the input scores perfectly): feed persons wearing other garments "
                 "(e.g. the data engine's results) or compare with unpaired FID / KID")
RANDOM_CAVEAT = ("FID / KID use the extractor {name}: numbers are comparable to papers only with Inception-v3 pool "
                 "features (extractor 'inception')")
SSIM_WINDOW = 7  # scikit-image's default window side
MAX_PSNR = 100.0  # identical pixels: PSNR is infinite; reported as this cap so means stay finite


class TryOnScorer:
    """The ``tryon/scores`` backend (CPU; optional networks load on demand).

    Args:
        spec: the registry entry (``options.kid_subset``: KID's subset size).
        settings: studio settings.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self._networks: dict[str, Any] = {}

    def load(self, report: ProgressFn | None = None) -> None:
        """Nothing to load up front: extractors are loaded by the request that names them."""

    def unload(self) -> None:
        """Drop the extractors."""
        self._networks.clear()

    def memory_bytes(self) -> int:
        """The extractors loaded (a few hundred MB for Inception)."""
        from backends.models.weights import module_bytes

        return sum(module_bytes(n) for n in self._networks.values() if hasattr(n, "parameters"))

    def check_inputs(self, request: TryOnScoreRequest) -> None:
        """Items, output folders and optional networks; every message names the field."""
        if not request.items:
            raise InvalidInput("items", "nothing to score")
        if not request.outputs:
            raise InvalidInput("outputs", "give at least one method's output folder")
        for method, folder in request.outputs.items():
            if not Path(folder).is_dir():
                raise InvalidInput("outputs", f"{method}: {folder!r} is not a folder")
        for index, item in enumerate(request.items):
            if not isinstance(item, dict) or not {"id", "person"} <= set(item):
                raise InvalidInput("items", f"item {index} needs at least 'id' and 'person'")
        if request.real_folder is not None and not Path(request.real_folder).is_dir():
            raise InvalidInput("real_folder", f"{request.real_folder!r} is not a folder")
        for name in ("extractor", "lpips"):  # TorchScript runs code: files only from STUDIO_MODEL_ROOTS
            value = getattr(request, name)
            if value not in (None, "inception", "lpips"):
                confine(value, self.settings.model_roots, name, "STUDIO_MODEL_ROOTS", "file")

    def __call__(self, request: TryOnScoreRequest, control: RunControl | None = None) -> TryOnScoreResult:
        """Score every item of every method, write the CSV and the summary."""
        control = control or RunControl()
        # 1. validate; the optional networks (their absence is reported, not raised)
        self.check_inputs(request)
        notes: list[str] = []
        lpips_net, lpips_status = self._network(request.lpips, "lpips")
        extractor, fid_status = self._network(request.extractor, "extractor")
        if extractor is not None and request.extractor != "inception":
            notes.append(RANDOM_CAVEAT.format(name=Path(str(request.extractor)).name))
        if any(item.get("truth") for item in request.items):
            notes.append(PAIRED_CAVEAT)
        # 2. per item and method: fidelity to the truth, preservation of the person outside the garment region
        rows: list[dict[str, Any]] = []
        outputs: dict[str, list[np.ndarray]] = {m: [] for m in request.outputs}
        truths: list[np.ndarray] = []
        total = len(request.items) * len(request.outputs)
        for i, item in enumerate(request.items):
            person = _image(item["person"])
            truth = _image(item["truth"]) if item.get("truth") else None
            region = _mask(item["region"], person.shape[:2]) if item.get("region") else None
            if truth is not None:
                truths.append(truth)
            for j, (method, folder) in enumerate(request.outputs.items()):
                control.raise_if_stopped()
                control.report((i * len(request.outputs) + j) / total, f"scoring {item['id']}: {method}")
                output = _image(_find(Path(folder), str(item["id"])), like=person)
                outputs[method].append(output)
                rows.append(score(item["id"], method, output, person, truth, region, lpips_net))
        # 3. per method: means, FID and KID against the real set
        real = truths or ([_image(p) for p in _folder_images(Path(request.real_folder))]
                          if request.real_folder else [])
        summary = [self._summary(method, rows, outputs[method], real, extractor, fid_status, lpips_status)
                   for method in request.outputs]
        # 4. files
        out = Path(request.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / "scores.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
        (out / "summary.json").write_text(json.dumps({"summary": summary, "notes": notes}, indent=2), "utf-8")
        control.report(1.0, "scored")
        return TryOnScoreResult(rows, summary, str(csv_path), notes)

    # ----------------------------------------------------------------------------------------------------------------
    def _network(self, name: str | None, kind: str) -> tuple[Any, str]:
        """A feature extractor or LPIPS network, or None and why it is unavailable."""
        if name is None:
            return None, f"unavailable: no {'feature extractor' if kind == 'extractor' else 'LPIPS network'} given"
        if name not in self._networks:
            try:
                self._networks[name] = _load_network(name, self.settings)
            except ModelUnavailable as exc:
                return None, f"unavailable: {exc}"
        return self._networks[name], "computed"

    def _summary(self, method: str, rows: list[dict[str, Any]], outputs: list[np.ndarray], real: list[np.ndarray],
                 extractor: Any, fid_status: str, lpips_status: str) -> dict[str, Any]:
        def avg(column: str) -> float | None:
            values = [r[column] for r in rows if r["method"] == method and r[column] is not None]
            return round(mean(values), 4) if values else None

        fid = kid = fid_status
        if extractor is not None:
            if len(outputs) < 2 or len(real) < 2:
                fid = kid = "needs at least 2 outputs and 2 real images"
            else:
                fake_features, real_features = _features(extractor, outputs), _features(extractor, real)
                fid = round(metrics.fid_from_features(real_features, fake_features), 4)
                kid = round(kid_from_features(real_features, fake_features, int(self.spec.defaults.options.get(
                    "kid_subset", 100))), 6)
        lpips = avg("lpips") if lpips_status == "computed" else lpips_status
        return {"method": method, "items": sum(r["method"] == method for r in rows), "ssim": avg("ssim"),
                "psnr": avg("psnr"), "preserved_ssim": avg("preserved_ssim"), "preserved_psnr": avg("preserved_psnr"),
                "lpips": lpips, "fid": fid, "kid": kid, "real_images": len(real)}


def score(item: Any, method: str, output: np.ndarray, person: np.ndarray, truth: np.ndarray | None,
          region: np.ndarray | None, lpips_net: Any = None) -> dict[str, Any]:
    """One row: SSIM / PSNR / LPIPS against the truth, SSIM / PSNR outside the region against the person."""
    from scipy.ndimage import binary_erosion
    from skimage.metrics import structural_similarity

    row: dict[str, Any] = {"id": item, "method": method, "ssim": None, "psnr": None, "preserved_ssim": None,
                           "preserved_psnr": None, "lpips": None}
    if truth is not None:
        row["ssim"] = round(metrics.ssim(truth, output), 4)
        row["psnr"] = round(min(metrics.psnr(truth, output), MAX_PSNR), 4)
        if lpips_net is not None:
            row["lpips"] = round(metrics.lpips_distance(truth, output, model=lpips_net), 4)
    if region is not None and (~region).any():
        outside = ~region
        error = float(np.mean((person[outside] - output[outside]) ** 2))
        row["preserved_psnr"] = round(MAX_PSNR if error == 0 else min(10 * math.log10(1 / error), MAX_PSNR), 4)
        _, ssim_map = structural_similarity(person, output, channel_axis=2, data_range=1.0, full=True)
        # Only windows wholly outside the region: SSIM's 7x7 windows straddling the edge see the new garment.
        core = binary_erosion(outside, structure=np.ones((SSIM_WINDOW, SSIM_WINDOW), bool))
        row["preserved_ssim"] = round(float(ssim_map.mean(axis=2)[core if core.any() else outside].mean()), 4)
    return row


def kid_from_features(real: np.ndarray, fake: np.ndarray, subset: int = 100, subsets: int = 100,
                      seed: int = 0) -> float:
    """Kernel Inception Distance: the unbiased MMD^2 with ``k(x, y) = (x.y / d + 1)^3``, mean over random subsets.

    Args:
        real: features ``(n, d)``.
        fake: features ``(m, d)``.
        subset: subset size (capped at the smaller set).
        subsets: how many subsets to average.
        seed: the subsets' seed.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset, len(real), len(fake))
    if size < 2:
        raise InvalidInput("features", "KID needs at least 2 feature vectors per set")
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / dim + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = size * (size - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean())
    return float(np.mean(values))


def _load_network(name: str, settings: Settings) -> Any:
    """``inception`` (torchmetrics' FID extractor), ``lpips`` (the lpips package), or a TorchScript file."""
    if name == "inception":
        from backends.vision.features import InceptionFeatures

        extractor = InceptionFeatures(None, settings)
        extractor.load()
        return lambda images: extractor(list(images))
    if name == "lpips":
        try:
            import lpips
        except ImportError as exc:
            raise ModelUnavailable("LPIPS needs the lpips package and its AlexNet weights (pip install lpips, "
                                   "then run once with network access)") from exc
        try:
            return lpips.LPIPS(net="alex", verbose=False)
        except Exception as exc:  # a failed torchvision download surfaces as URLError / OSError / RuntimeError
            raise ModelUnavailable(f"LPIPS's AlexNet weights could not be loaded ({exc})") from exc
    import torch

    try:
        return torch.jit.load(name, map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise ModelUnavailable(f"{name!r} is not a TorchScript module ({exc})") from exc


def _features(extractor: Any, images: list[np.ndarray]) -> np.ndarray:
    """Features ``(N, D)`` of HxWx3 images in [0, 1], one image at a time (sizes may differ)."""
    import torch

    rows = []
    with torch.inference_mode():
        for image in images:
            if isinstance(extractor, torch.jit.ScriptModule | torch.nn.Module):
                tensor = torch.from_numpy(np.ascontiguousarray(image, np.float32)).permute(2, 0, 1)[None]
                rows.append(np.asarray(extractor(tensor), np.float64).reshape(-1))
            else:
                rows.append(np.asarray(extractor([image]), np.float64).reshape(-1))
    return np.stack(rows)


def _image(source: Any, like: np.ndarray | None = None) -> np.ndarray:
    """An image as HxWx3 float in [0, 1], resized to ``like``'s size when given."""
    image = load_image(source, field=str(source)[-80:])
    if like is not None and image.size != (like.shape[1], like.shape[0]):
        image = image.resize((like.shape[1], like.shape[0]), Image.Resampling.LANCZOS)
    return np.asarray(image, np.float32) / 255.0


def _mask(source: Any, shape: tuple[int, int]) -> np.ndarray:
    image = load_image(source, field="region", min_side=1, max_aspect=math.inf).convert("L")
    if image.size != (shape[1], shape[0]):
        image = image.resize((shape[1], shape[0]), Image.Resampling.NEAREST)
    return np.asarray(image) >= 128


def _find(folder: Path, item: str) -> Path:
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{item}{suffix}").is_file():
            return folder / f"{item}{suffix}"
    raise InvalidInput("outputs", f"{folder} has no image for item {item!r}")


def _folder_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
