"""Reconstruction metrics for the tokenizer visualizer: PSNR, SSIM, MS-SSIM, optional LPIPS, error maps, spectra, FID.

Images are float arrays in ``[0, data_range]`` (``[0, 1]`` by default) of shape HxWx3; uint8 arrays and PIL images
are accepted too and rescaled onto ``[0, data_range]``; HxW and HxWx1 greyscale are repeated to three channels.
PSNR and SSIM are scikit-image's own functions (so the numbers match what tokenizer papers report through
skimage); MS-SSIM, the radial spectrum and the Fréchet distance are written here because scikit-image has none.
LPIPS needs the optional ``lpips`` package and AlexNet weights, which cannot be downloaded offline.
Nothing heavy is imported at module import: scipy.ndimage, matplotlib, lpips and torch are imported inside the
functions using them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Wang, Simoncelli & Bovik (2003) per-scale exponents, finest scale first."""
MS_SSIM_WINDOW = 11  # Gaussian window side of the MS-SSIM paper (and of TF / pytorch_msssim)
MS_SSIM_SIGMA = 1.5
SSIM_MIN_SIDE = 7  # scikit-image's default 7x7 window must fit inside the image
RANGE_SLACK = 1e-3  # fraction of data_range tolerated outside [0, data_range] (decoder overshoot before clipping)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as in JPEG and PIL's "L" mode
LPIPS_UNAVAILABLE = "unavailable offline"


class MetricUnavailable(ModelUnavailable):
    """A metric needs weights or an optional package that this machine does not have (e.g. LPIPS offline)."""


# --------------------------------------------------------------------------------------------------------------------
# Input conversion and validation
# --------------------------------------------------------------------------------------------------------------------
def _check_range(data_range: Any) -> float:
    if isinstance(data_range, bool) or not isinstance(data_range, int | float) or not np.isfinite(data_range):
        raise InvalidInput("data_range", f"expected a positive finite number, got {data_range!r}")
    if data_range <= 0:
        raise InvalidInput("data_range", f"must be positive (1.0 for images in [0, 1]), got {data_range!r}")
    return float(data_range)


def to_float_image(image: Any, field: str = "image", data_range: float = 1.0) -> np.ndarray:
    """Convert an image to an HxWx3 float array in ``[0, data_range]`` and validate it.

    Float arrays keep their dtype (so results match scikit-image called on the same arrays); uint8 arrays and PIL
    images are rescaled from ``[0, 255]`` onto ``[0, data_range]`` as float32.

    Args:
        image: an HxWx3, HxWx1 or HxW array (float or uint8) or a PIL image.
        field: the argument name used in error messages.
        data_range: the value of a white pixel.

    Returns:
        An HxWx3 floating-point array (a view of the input where no conversion was needed).

    Raises:
        InvalidInput: unsupported type or dtype, wrong shape, empty, NaN/infinite pixels or values out of range.
    """
    data_range = _check_range(data_range)
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise InvalidInput(field, f"expected a numpy array or a PIL image, got {type(image).__name__}")
    if image.dtype == np.uint8:
        image = image.astype(np.float32) * np.float32(data_range / 255.0)
    elif not np.issubdtype(image.dtype, np.floating):
        raise InvalidInput(field, f"dtype {image.dtype} is not supported: pass floats in [0, 1] or uint8")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise InvalidInput(field, f"shape {image.shape} is not an image: expected HxWx3 (RGB), HxWx1 or HxW")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidInput(field, f"the image is empty (shape {image.shape})")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    # min/max rather than np.isfinite(...).all(): NaN and inf propagate into them, and two reductions are cheaper
    # than a boolean copy of a large image (the metrics benchmark holds this validation to a 10% overhead).
    low, high = float(image.min()), float(image.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InvalidInput(field, "contains NaN or infinite pixel values")
    slack = RANGE_SLACK * data_range
    if low < -slack or high > data_range + slack:
        raise InvalidInput(
            field, f"pixel values span [{low:.4g}, {high:.4g}], outside [0, {data_range:g}]: clip or rescale first"
        )
    return image


def _pair(reference: Any, test: Any, data_range: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    ref = to_float_image(reference, "reference", data_range)
    tst = to_float_image(test, "test", data_range)
    if ref.shape != tst.shape:
        raise InvalidInput("test", f"shape {tst.shape} differs from the reference's {ref.shape}: they must match")
    return ref, tst


# --------------------------------------------------------------------------------------------------------------------
# PSNR, SSIM, MS-SSIM
# --------------------------------------------------------------------------------------------------------------------
def psnr(reference: Any, test: Any, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (scikit-image's ``peak_signal_noise_ratio``).

    Args:
        reference: the original image.
        test: the reconstruction, same shape.
        data_range: the value of a white pixel (1.0 for images in [0, 1]).

    Returns:
        PSNR in dB; ``inf`` for identical images.
    """
    from skimage.metrics import peak_signal_noise_ratio  # imported on first use: it pulls in scipy.stats (~0.3 s)

    ref, tst = _pair(reference, test, data_range)
    with np.errstate(divide="ignore"):  # identical images: log10(x / 0) is +inf, which is the right answer
        return float(peak_signal_noise_ratio(ref, tst, data_range=float(data_range)))


def ssim(reference: Any, test: Any, data_range: float = 1.0) -> float:
    """Mean structural similarity over the three channels (scikit-image's ``structural_similarity``).

    scikit-image's defaults: a 7x7 uniform window with sample covariances, per channel then averaged. ``data_range``
    is passed explicitly; some tokenizer evaluation scripts pass 2.0 for [0, 1] images, which inflates SSIM.

    Args:
        reference: the original image.
        test: the reconstruction, same shape.
        data_range: the value of a white pixel.

    Returns:
        SSIM in [-1, 1]; 1 for identical images.
    """
    from skimage.metrics import structural_similarity

    ref, tst = _pair(reference, test, data_range)
    if min(ref.shape[:2]) < SSIM_MIN_SIDE:
        raise InvalidInput("reference", f"SSIM needs at least {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE} pixels, got "
                                        f"{ref.shape[0]}x{ref.shape[1]}")
    return float(structural_similarity(ref, tst, channel_axis=-1, data_range=float(data_range)))


def ms_ssim_scales(shape: tuple[int, ...]) -> int:
    """How many MS-SSIM scales (at most 5) fit an image of this shape: the coarsest must still hold an 11x11 window.

    Args:
        shape: the image shape (H, W, ...).

    Returns:
        The number of scales, 0 when the image is smaller than one window.
    """
    side = min(shape[0], shape[1])
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and side >= MS_SSIM_WINDOW:
        scales += 1
        side //= 2
    return scales


def _gaussian_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter over H and W keeping only 'valid' positions (the window inside the image)."""
    radius = len(kernel) // 2
    from scipy import ndimage  # ~0.1 s to import: paid when MS-SSIM is first computed, not at start-up

    out = ndimage.correlate1d(image, kernel, axis=0, mode="nearest")
    out = ndimage.correlate1d(out, kernel, axis=1, mode="nearest")
    return out[radius:-radius, radius:-radius]  # border values depend on the padding mode and are dropped


def ms_ssim(reference: Any, test: Any, data_range: float = 1.0) -> float:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), hand-written because scikit-image has none.

    Per channel: an 11x11 Gaussian window (sigma 1.5, 'valid' positions only), K1=0.01, K2=0.03. At each of the
    finer scales the mean contrast-structure term cs_j is kept; at the coarsest scale the full SSIM (luminance x
    contrast-structure, as TensorFlow's ``ssim_multiscale`` and ``pytorch_msssim`` do); between scales a 2x2 average
    pool (an odd last row/column is dropped). The result is prod_j cs_j^w_j * ssim_M^w_M with the standard weights
    (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); negative terms are clipped to 0 before the fractional powers (as in
    ``pytorch_msssim``), and the per-channel values are averaged.

    Images too small for 5 scales (shorter side under 176 px) use as many scales as fit (``ms_ssim_scales``) with
    the first weights renormalised to sum to 1; with one scale this is Gaussian-window SSIM.

    Args:
        reference: the original image.
        test: the reconstruction, same shape.
        data_range: the value of a white pixel.

    Returns:
        MS-SSIM in [0, 1]; 1 for identical images.

    Raises:
        InvalidInput: shapes differ, or the image is smaller than 11x11.
    """
    ref, tst = _pair(reference, test, data_range)
    scales = ms_ssim_scales(ref.shape)
    if scales == 0:
        raise InvalidInput("reference", f"MS-SSIM needs at least {MS_SSIM_WINDOW}x{MS_SSIM_WINDOW} pixels, got "
                                        f"{ref.shape[0]}x{ref.shape[1]}")
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
    weights = weights / weights.sum()
    offsets = np.arange(MS_SSIM_WINDOW) - MS_SSIM_WINDOW // 2
    kernel = np.exp(-(offsets**2) / (2 * MS_SSIM_SIGMA**2))
    kernel /= kernel.sum()
    c1 = (0.01 * float(data_range)) ** 2
    c2 = (0.03 * float(data_range)) ** 2
    x = ref.astype(np.float64)
    y = tst.astype(np.float64)
    terms = []
    for scale in range(scales):
        mu_x, mu_y = _gaussian_valid(x, kernel), _gaussian_valid(y, kernel)
        var_x = _gaussian_valid(x * x, kernel) - mu_x**2
        var_y = _gaussian_valid(y * y, kernel) - mu_y**2
        cov = _gaussian_valid(x * y, kernel) - mu_x * mu_y
        cs_map = (2 * cov + c2) / (var_x + var_y + c2)
        if scale < scales - 1:
            terms.append(cs_map.mean(axis=(0, 1)))
            h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
            y = y[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
        else:
            luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
            terms.append((luminance * cs_map).mean(axis=(0, 1)))
    stacked = np.clip(np.stack(terms), 0.0, None)  # (scales, 3)
    per_channel = np.prod(stacked ** weights[:, None], axis=0)
    return float(per_channel.mean())


def lpips_distance(reference: Any, test: Any, *, model: Any = None) -> float:
    """LPIPS (AlexNet) perceptual distance, when the optional ``lpips`` package and its weights are present.

    Args:
        reference: the original image.
        test: the reconstruction, same shape.
        model: an already loaded ``lpips.LPIPS`` module to reuse; built (slowly) on each call when None.

    Returns:
        The LPIPS distance (lower is closer; 0 for identical images).

    Raises:
        MetricUnavailable: the ``lpips`` package is not installed or its AlexNet weights cannot be loaded (offline).
    """
    ref, tst = _pair(reference, test)
    if model is None:
        try:
            import lpips
        except ImportError as err:
            raise MetricUnavailable(
                "LPIPS needs AlexNet weights, unavailable offline: the optional `lpips` package is not installed "
                "(on a machine with network: pip install lpips, then run once so torchvision caches AlexNet)"
            ) from err
        try:
            model = lpips.LPIPS(net="alex", verbose=False)
        except Exception as err:  # a failed download surfaces as URLError, OSError or RuntimeError by torch version
            raise MetricUnavailable(
                f"LPIPS needs AlexNet weights, unavailable offline: loading them failed ({err}); run once with "
                "network access so torchvision caches them"
            ) from err
    import torch

    def tensor(image: np.ndarray) -> Any:  # HxWx3 in [0, 1] -> 1x3xHxW in [-1, 1], LPIPS's convention
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32) * 2 - 1).permute(2, 0, 1)[None]

    with torch.no_grad():
        return float(model(tensor(ref), tensor(tst)).item())


# --------------------------------------------------------------------------------------------------------------------
# Error maps and spectra
# --------------------------------------------------------------------------------------------------------------------
def error_map(reference: Any, test: Any) -> np.ndarray:
    """Per-pixel absolute error, averaged over the three channels.

    Args:
        reference: the original image.
        test: the reconstruction, same shape.

    Returns:
        An HxW float32 array in [0, 1].
    """
    ref, tst = _pair(reference, test)
    return np.abs(ref.astype(np.float32) - tst.astype(np.float32)).mean(axis=2)


def error_heatmap(reference: Any, test: Any, *, vmax: float | None = None, colormap: str = "inferno") -> Image.Image:
    """A coloured heat map of ``error_map`` (matplotlib colormap; no pyplot state is touched).

    Args:
        reference: the original image.
        test: the reconstruction, same shape.
        vmax: the error shown as the hottest colour; None uses this map's maximum. Pass the same value to compare
            several reconstructions on one scale.
        colormap: a matplotlib colormap name.

    Returns:
        An RGB PIL image of the same size.
    """
    from matplotlib import colormaps

    errors = error_map(reference, test)
    if vmax is None:
        vmax = float(errors.max())
    elif isinstance(vmax, bool) or not isinstance(vmax, int | float) or not np.isfinite(vmax) or vmax <= 0:
        raise InvalidInput("vmax", f"expected a positive finite number or None, got {vmax!r}")
    if colormap not in colormaps:
        raise InvalidInput("colormap", f"{colormap!r} is not a matplotlib colormap (e.g. 'inferno', 'viridis')")
    scaled = errors / max(float(vmax), 1e-12)  # an all-zero map stays at the coldest colour
    rgba = colormaps[colormap](np.clip(scaled, 0.0, 1.0), bytes=True)
    return Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]), mode="RGB")


def radial_power_spectrum(image: Any, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of the luminance: shows which spatial frequencies a tokenizer loses.

    The BT.601 luminance is mean-subtracted and multiplied by a 2D Hann window (so the image border does not leak a
    spurious cross of high frequencies), and |FFT|^2 is divided by the window's energy, so white noise of variance
    s^2 gives a flat spectrum at s^2. Frequencies are in cycles per pixel, binned uniformly over [0, 0.5]; the
    corners beyond Nyquist are left out.

    Args:
        image: an image (see ``to_float_image``).
        bins: number of radial bins, 2..min(H, W) // 2.

    Returns:
        ``(frequencies, power)``: bin centres in cycles/pixel and the mean power in each bin (both float64).
    """
    img = to_float_image(image, "image")
    h, w = img.shape[:2]
    max_bins = max(2, min(h, w) // 2)
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or not 2 <= bins <= max_bins:
        raise InvalidInput("bins", f"expected an integer in 2..{max_bins} for a {h}x{w} image, got {bins!r}")
    luma = img.astype(np.float64) @ np.asarray(LUMA_WEIGHTS)
    window = np.outer(np.hanning(h), np.hanning(w)) if min(h, w) > 2 else np.ones((h, w))
    signal = (luma - luma.mean()) * window
    power = np.abs(np.fft.fft2(signal)) ** 2 / max(float((window**2).sum()), 1e-12)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    inside = radius <= 0.5
    index = np.minimum((radius[inside] / 0.5 * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    sums = np.bincount(index, weights=power[inside], minlength=bins)
    with np.errstate(invalid="ignore"):  # a bin with no frequency sample (tiny images) is reported as NaN
        mean_power = sums / counts
    frequencies = (np.arange(bins) + 0.5) * (0.5 / bins)
    return frequencies, mean_power


def compare(reference: Any, test: Any) -> dict[str, float | int | str]:
    """Every reconstruction metric at once, for the visualizer's table.

    Args:
        reference: the original image.
        test: the reconstruction, same shape.

    Returns:
        ``psnr`` (dB, inf if identical), ``ssim``, ``ms_ssim``, ``ms_ssim_scales`` (scales used), ``mae`` (mean
        absolute error in [0, 1]) and ``lpips`` (a float, or ``"unavailable offline"``).
    """
    ref, tst = _pair(reference, test)
    result: dict[str, float | int | str] = {
        "psnr": psnr(ref, tst),
        "ssim": ssim(ref, tst),
        "ms_ssim": ms_ssim(ref, tst),
        "ms_ssim_scales": ms_ssim_scales(ref.shape),
        "mae": float(np.abs(ref.astype(np.float64) - tst.astype(np.float64)).mean()),
    }
    try:
        result["lpips"] = lpips_distance(ref, tst)
    except MetricUnavailable:
        result["lpips"] = LPIPS_UNAVAILABLE
    return result


# --------------------------------------------------------------------------------------------------------------------
# Fréchet distance (FID's formula on any features)
# --------------------------------------------------------------------------------------------------------------------
def _as_matrix(value: Any, field: str, ndim: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim or array.size == 0:
        raise InvalidInput(field, f"expected a non-empty {ndim}-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InvalidInput(field, "contains NaN or infinite values")
    return array


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance, with rounding-level negative eigenvalues clipped to 0."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between two Gaussians: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), FID's formula.

    ``Tr sqrtm(S1 S2)`` equals ``Tr sqrtm(S1^1/2 S2 S1^1/2)`` (the matrices are similar), and the latter is symmetric
    positive semi-definite, so it is computed from ``eigh`` eigenvalues: real, with no warning or complex round-off
    where ``scipy.linalg.sqrtm`` of the non-symmetric product struggles (near-singular covariances, fewer samples
    than dimensions). On well-conditioned inputs it agrees with the ``sqrtm`` form to rounding (see the tests).

    Args:
        mu1: mean of the first set, shape (d,).
        sigma1: covariance of the first set, shape (d, d), symmetric.
        mu2: mean of the second set, shape (d,).
        sigma2: covariance of the second set, shape (d, d), symmetric.

    Returns:
        The distance, >= 0 (rounding-level negatives are clipped to 0).
    """
    m1, m2 = _as_matrix(mu1, "mu1", 1), _as_matrix(mu2, "mu2", 1)
    s1, s2 = _as_matrix(sigma1, "sigma1", 2), _as_matrix(sigma2, "sigma2", 2)
    d = m1.shape[0]
    if m2.shape != (d,):
        raise InvalidInput("mu2", f"shape {m2.shape} differs from mu1's {(d,)}")
    for name, sigma in (("sigma1", s1), ("sigma2", s2)):
        if sigma.shape != (d, d):
            raise InvalidInput(name, f"shape {sigma.shape} must be ({d}, {d}) to match the means")
        if not np.allclose(sigma, sigma.T, rtol=1e-5, atol=1e-8 * max(1.0, float(np.abs(sigma).max()))):
            raise InvalidInput(name, "a covariance matrix must be symmetric")
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    root1 = _psd_sqrt(s1)
    middle = root1 @ s2 @ root1
    trace_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum())
    diff = m1 - m2
    distance = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)
    return max(distance, 0.0)


def fid_from_features(features_a: Any, features_b: Any) -> float:
    """FID between two feature sets (e.g. Inception pool3 vectors, or a small random extractor's for offline tests).

    Args:
        features_a: shape (n_a, d), n_a >= 2.
        features_b: shape (n_b, d), n_b >= 2.

    Returns:
        The Fréchet distance between the Gaussians fitted to the two sets (unbiased covariances).
    """
    a = _as_matrix(features_a, "features_a", 2)
    b = _as_matrix(features_b, "features_b", 2)
    for name, feats in (("features_a", a), ("features_b", b)):
        if feats.shape[0] < 2:
            raise InvalidInput(name, f"needs at least 2 feature vectors for a covariance, got {feats.shape[0]}")
    if a.shape[1] != b.shape[1]:
        raise InvalidInput("features_b", f"feature dimension {b.shape[1]} differs from features_a's {a.shape[1]}")
    sigma_a = np.atleast_2d(np.cov(a, rowvar=False))
    sigma_b = np.atleast_2d(np.cov(b, rowvar=False))
    return frechet_distance(a.mean(axis=0), sigma_a, b.mean(axis=0), sigma_b)
