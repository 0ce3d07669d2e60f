"""Reconstruction metrics: scikit-image agreement, MS-SSIM against a plain re-implementation, spectra, FID, LPIPS.

Photos are scikit-image's public-domain samples (astronaut, camera).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import scipy.linalg
from PIL import Image
from scipy import ndimage
from scipy.signal import convolve2d
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.vision.metrics import (
    MetricUnavailable,
    compare,
    error_heatmap,
    error_map,
    fid_from_features,
    frechet_distance,
    lpips_distance,
    ms_ssim,
    ms_ssim_scales,
    psnr,
    radial_power_spectrum,
    ssim,
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()[:256, 128:384].astype(np.float32) / 255


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 1).astype(image.dtype)


def plain_ms_ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """MS-SSIM written out the long way: a 2D 11x11 Gaussian window, one channel at a time, strided 2x2 means."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    weights = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    side, scales = min(x.shape[:2]), 0
    while scales < 5 and side >= 11:
        scales, side = scales + 1, side // 2
    weights = weights[:scales] / weights[:scales].sum()
    values = []
    for channel in range(3):
        a, b = x[:, :, channel].astype(np.float64), y[:, :, channel].astype(np.float64)
        value = 1.0
        for scale in range(scales):
            mu_a, mu_b = convolve2d(a, window, mode="valid"), convolve2d(b, window, mode="valid")
            var_a = convolve2d(a * a, window, mode="valid") - mu_a**2
            var_b = convolve2d(b * b, window, mode="valid") - mu_b**2
            cov = convolve2d(a * b, window, mode="valid") - mu_a * mu_b
            cs = (2 * cov + c2) / (var_a + var_b + c2)
            if scale == scales - 1:
                term = np.mean((2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs)
            else:
                term = np.mean(cs)
                h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
                a = (a[0:h:2, 0:w:2] + a[1:h:2, 0:w:2] + a[0:h:2, 1:w:2] + a[1:h:2, 1:w:2]) / 4
                b = (b[0:h:2, 0:w:2] + b[1:h:2, 0:w:2] + b[0:h:2, 1:w:2] + b[1:h:2, 1:w:2]) / 4
            value *= max(term, 0.0) ** weights[scale]
        values.append(value)
    return float(np.mean(values))


# --------------------------------------------------------------------------------------------------------------------
# PSNR / SSIM agree with scikit-image
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_psnr_and_ssim_equal_scikit_image(photo: np.ndarray, dtype: type) -> None:
    ref, test = photo.astype(dtype), noisy(photo, 0.05).astype(dtype)
    assert psnr(ref, test) == peak_signal_noise_ratio(ref, test, data_range=1.0)
    assert ssim(ref, test) == structural_similarity(ref, test, channel_axis=-1, data_range=1.0)


def test_data_range_is_passed_through(photo: np.ndarray) -> None:
    ref, test = photo * 255.0, noisy(photo, 0.05) * 255.0
    assert psnr(ref, test, data_range=255) == peak_signal_noise_ratio(ref, test, data_range=255)
    assert ssim(ref, test, data_range=255) == structural_similarity(ref, test, channel_axis=-1, data_range=255)
    with pytest.raises(InvalidInput, match="outside"):
        psnr(ref, test)  # [0, 255] floats with the default data_range=1 are a mistake, not a metric
    with pytest.raises(InvalidInput) as caught:
        psnr(photo, photo, data_range=0)
    assert caught.value.field == "data_range"


def test_uint8_and_pil_inputs_are_converted(photo: np.ndarray) -> None:
    ref8 = (photo * 255).round().astype(np.uint8)
    test8 = (noisy(photo, 0.05) * 255).round().astype(np.uint8)
    expected = peak_signal_noise_ratio(ref8, test8, data_range=255)
    assert psnr(ref8, test8) == pytest.approx(expected, abs=1e-4)
    assert psnr(Image.fromarray(ref8), Image.fromarray(test8)) == pytest.approx(expected, abs=1e-4)
    assert ssim(ref8, Image.fromarray(test8)) == pytest.approx(
        structural_similarity(ref8, test8, channel_axis=-1, data_range=255), abs=1e-5)


def test_identical_images_score_perfectly(photo: np.ndarray) -> None:
    assert psnr(photo, photo) == float("inf")
    assert ssim(photo, photo) == pytest.approx(1.0)
    assert ms_ssim(photo, photo) == pytest.approx(1.0)


def test_mismatched_or_bad_inputs_name_the_field(photo: np.ndarray) -> None:
    for metric in (psnr, ssim, ms_ssim, error_map, compare):
        with pytest.raises(InvalidInput) as caught:
            metric(photo, photo[:128])
        assert caught.value.field == "test"
    bad = photo.copy()
    bad[3, 3, 1] = np.inf
    with pytest.raises(InvalidInput, match="NaN or infinite") as caught:
        psnr(bad, photo)
    assert caught.value.field == "reference"
    with pytest.raises(InvalidInput, match="at least 7x7"):
        ssim(photo[:5, :5], photo[:5, :5])


# --------------------------------------------------------------------------------------------------------------------
# MS-SSIM
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [256, 180, 64, 23])
def test_ms_ssim_equals_a_plain_implementation(photo: np.ndarray, size: int) -> None:
    ref = photo[:size, : size + 7]
    test = noisy(ref, 0.08, seed=size)
    assert ms_ssim(ref, test) == pytest.approx(plain_ms_ssim(ref, test), rel=1e-9)


def test_ms_ssim_scales_shrink_for_small_images() -> None:
    assert [ms_ssim_scales((s, 1000)) for s in (1000, 176, 175, 88, 87, 64, 22, 21, 11, 10)] == [
        5, 5, 4, 4, 3, 3, 2, 1, 1, 0]


def test_ms_ssim_decreases_with_noise(photo: np.ndarray) -> None:
    scores = [ms_ssim(photo, noisy(photo, sigma)) for sigma in (0.01, 0.03, 0.1, 0.3)]
    assert all(1 > a > b >= 0 for a, b in zip(scores, scores[1:], strict=False))
    assert ms_ssim(photo, ndimage.gaussian_filter(photo, (2, 2, 0))) < ms_ssim(photo, noisy(photo, 0.01))


def test_ms_ssim_rejects_images_smaller_than_its_window(photo: np.ndarray) -> None:
    with pytest.raises(InvalidInput, match="at least 11x11"):
        ms_ssim(photo[:10, :40], photo[:10, :40])


# --------------------------------------------------------------------------------------------------------------------
# Error maps and spectra
# --------------------------------------------------------------------------------------------------------------------
def test_error_map_and_heatmap(photo: np.ndarray) -> None:
    test = noisy(photo, 0.1)
    errors = error_map(photo, test)
    assert errors.shape == photo.shape[:2]
    np.testing.assert_allclose(errors, np.abs(photo - test).mean(axis=2), rtol=1e-6)
    heat = error_heatmap(photo, test)
    assert heat.mode == "RGB" and heat.size == (photo.shape[1], photo.shape[0])
    flat = np.asarray(error_heatmap(photo, photo))
    assert np.unique(flat.reshape(-1, 3), axis=0).shape[0] == 1  # no error: the coldest colour everywhere
    assert np.asarray(error_heatmap(photo, test, vmax=10.0)).mean() < np.asarray(heat).mean()
    with pytest.raises(InvalidInput, match="colormap"):
        error_heatmap(photo, test, colormap="no-such-map")


def test_radial_spectrum_of_white_noise_is_flat() -> None:
    noise = np.random.default_rng(0).random((512, 512)).astype(np.float32)
    frequencies, power = radial_power_spectrum(noise, bins=32)
    assert frequencies.shape == power.shape == (32,) and 0 < frequencies[0] < frequencies[-1] < 0.5
    body = power[2:]  # the lowest bins sit under the Hann window's main lobe around the removed mean
    assert np.all(np.abs(body / (1 / 12) - 1) < 0.3)  # uniform noise: variance 1/12 at every frequency
    assert body[len(body) // 2:].mean() / body[: len(body) // 2].mean() == pytest.approx(1.0, abs=0.05)


def test_radial_spectrum_of_a_blurred_image_falls_off() -> None:
    noise = np.random.default_rng(1).random((256, 256))
    blurred = ndimage.gaussian_filter(noise, 2.0)
    _, power = radial_power_spectrum(blurred)
    assert power[-8:].mean() < 1e-4 * power[1:4].mean()
    _, photo_power = radial_power_spectrum(data.camera())
    assert photo_power[-8:].mean() < 1e-2 * photo_power[1:4].mean()  # natural images: most power at low frequency
    with pytest.raises(InvalidInput) as caught:
        radial_power_spectrum(blurred, bins=1000)
    assert caught.value.field == "bins"


def test_compare_reports_every_metric(photo: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lpips", None)  # as on a machine without the package
    test = noisy(photo, 0.05)
    result = compare(photo, test)
    assert set(result) == {"psnr", "ssim", "ms_ssim", "ms_ssim_scales", "mae", "lpips"}
    assert result["psnr"] == psnr(photo, test) and result["ssim"] == ssim(photo, test)
    assert result["ms_ssim_scales"] == 5 and result["lpips"] == "unavailable offline"
    assert result["mae"] == pytest.approx(np.abs(photo.astype(np.float64) - test).mean())


# --------------------------------------------------------------------------------------------------------------------
# LPIPS offline
# --------------------------------------------------------------------------------------------------------------------
def test_lpips_without_the_package_is_unavailable(photo: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lpips", None)
    with pytest.raises(MetricUnavailable, match="LPIPS needs AlexNet weights, unavailable offline") as caught:
        lpips_distance(photo, photo)
    assert isinstance(caught.value, ModelUnavailable) and "pip install lpips" in str(caught.value)


def test_lpips_without_weights_is_unavailable(photo: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(**_: object) -> None:
        raise OSError("could not download alexnet-owt-7be5be79.pth")

    monkeypatch.setitem(sys.modules, "lpips", types.SimpleNamespace(LPIPS=offline))
    with pytest.raises(MetricUnavailable, match="unavailable offline: loading them failed .*alexnet"):
        lpips_distance(photo, photo)


# --------------------------------------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------------------------------------
def test_fid_of_identical_sets_is_zero() -> None:
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_shifted_sets_is_the_squared_shift() -> None:
    features = np.random.default_rng(1).normal(size=(400, 12)) @ np.random.default_rng(2).normal(size=(12, 12))
    shift = np.linspace(-1, 2, 12)
    assert fid_from_features(features, features + shift) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_frechet_distance_matches_the_sqrtm_formula() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(300, 8)) * 1.5 + 0.3
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_robust_to_singular_covariances() -> None:
    rng = np.random.default_rng(4)
    few = rng.normal(size=(5, 32))  # fewer samples than dimensions: rank-4 covariances
    value = fid_from_features(few, rng.normal(size=(6, 32)))
    assert np.isfinite(value) and value > 0
    assert fid_from_features(few, few) == pytest.approx(0.0, abs=1e-8)


def test_fid_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidInput) as caught:
        fid_from_features(np.zeros((4, 3)), np.zeros((4, 5)))
    assert caught.value.field == "features_b"
    with pytest.raises(InvalidInput, match="at least 2"):
        fid_from_features(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(InvalidInput, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
