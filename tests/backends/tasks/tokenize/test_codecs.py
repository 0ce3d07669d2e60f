"""The weight-free tokenizers: ordered PCA prefixes, VQ codes and RobustTok perturbation, the DCT baseline's budget.

Photos are scikit-image's public-domain samples (astronaut 512x512, a 256x384 crop of coffee).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage import data

from backends.core.errors import InvalidInput
from backends.tasks.tokenize.codecs import PCAPatchTokenizer, VQPatchTokenizer, reconstruction_curve
from backends.tasks.tokenize.dct import DCTCodec, zigzag
from backends.tasks.tokenize.tokens import Tokens, code_palette, token_map
from backends.vision.metrics import psnr


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut().astype(np.float32) / 255


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return np.ascontiguousarray(data.coffee()[:256, 100:484]).astype(np.float32) / 255  # 256x384


@pytest.fixture(scope="module")
def pca(astronaut: np.ndarray) -> PCAPatchTokenizer:
    return PCAPatchTokenizer().fit(astronaut)


@pytest.fixture(scope="module")
def vq(astronaut: np.ndarray) -> VQPatchTokenizer:
    return VQPatchTokenizer(codebook_size=256, seed=0).fit(astronaut)


def prefix_psnrs(tokenizer: PCAPatchTokenizer, image: np.ndarray) -> np.ndarray:
    tokens = tokenizer.encode(image)
    return np.array([psnr(image, tokenizer.decode_prefix(tokens, k)) for k in range(1, tokens.count + 1)])


# --------------------------------------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------------------------------------
def test_pca_prefix_quality_never_decreases_on_the_fitted_photo(pca: PCAPatchTokenizer, astronaut: np.ndarray) -> None:
    curve = prefix_psnrs(pca, astronaut)
    assert len(curve) == 8 * 8 * 3
    assert np.all(np.diff(curve) >= 0), f"PSNR drops at k={np.flatnonzero(np.diff(curve) < 0) + 2}"
    assert curve[0] < 20 < curve[15] < curve[-1]


def test_pca_prefix_quality_never_decreases_on_an_unseen_photo(pca: PCAPatchTokenizer, coffee: np.ndarray) -> None:
    curve = prefix_psnrs(pca, coffee)
    assert np.all(np.diff(curve) >= 0)


def test_pca_full_prefix_reconstructs_almost_exactly(pca: PCAPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = pca.encode(astronaut)
    assert tokens.kind == "continuous" and tokens.ordered and tokens.codec == "pca"
    assert tokens.data.shape == (192, 64 * 64) and tokens.data.dtype == np.float16
    assert psnr(astronaut, pca.decode(tokens)) > 60


def test_pca_odd_size_round_trips_to_the_original_size(astronaut: np.ndarray) -> None:
    odd = np.ascontiguousarray(astronaut[100:197, 200:331])  # 97x131
    tokenizer = PCAPatchTokenizer().fit(odd)
    tokens = tokenizer.encode(odd)
    assert tokens.image_size == (97, 131) and tokens.padded_size == (104, 136) and tokens.grid == (13, 17)
    decoded = tokenizer.decode(tokens)
    assert decoded.shape == odd.shape and decoded.dtype == np.float32
    assert psnr(odd, decoded) > 60


def test_pca_bits_count_float16_coefficients_and_the_fitted_basis(pca: PCAPatchTokenizer,
                                                                    astronaut: np.ndarray) -> None:
    tokens = pca.encode(astronaut)
    basis = (192 * 192 + 192) * 16  # 192 basis rows of 8x8x3 values and the mean, float16: fitted on this image
    assert tokens.bits == 192 * 4096 * 16 + basis
    assert tokens.bits_per_pixel() > 48  # every component kept: more than the 24-bit raw image
    short = pca.truncate(tokens, 10)
    assert short.count == 10 and short.bits == 10 * 4096 * 16 + (10 * 192 + 192) * 16
    np.testing.assert_array_equal(pca.decode(short), pca.decode_prefix(tokens, 10))


def test_pca_with_fewer_components(astronaut: np.ndarray) -> None:
    tokenizer = PCAPatchTokenizer(patch=4, components=12).fit(astronaut)
    tokens = tokenizer.encode(astronaut)
    assert tokens.count == 12 and tokens.data.shape == (12, 128 * 128)
    assert 25 < psnr(astronaut, tokenizer.decode(tokens)) < 60
    with pytest.raises(InvalidInput, match="components"):
        PCAPatchTokenizer(patch=4, components=49)


def test_pca_prefix_outside_the_range_is_rejected(pca: PCAPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = pca.encode(astronaut)
    for k in (0, tokens.count + 1, 2.5):
        with pytest.raises(InvalidInput) as caught:
            pca.decode_prefix(tokens, k)
        assert caught.value.field == "prefix"


def test_pca_rejects_tokens_from_another_fit_or_codec(pca: PCAPatchTokenizer, coffee: np.ndarray,
                                                      vq: VQPatchTokenizer) -> None:
    other = PCAPatchTokenizer().fit(coffee)
    with pytest.raises(InvalidInput, match="different fit"):
        pca.decode(other.encode(coffee))
    with pytest.raises(InvalidInput, match="'vq' codec"):
        pca.decode(vq.encode(coffee))
    with pytest.raises(InvalidInput, match="not fitted"):
        PCAPatchTokenizer().encode(coffee)


def test_pca_fits_a_list_or_a_batch_and_accepts_uint8_and_pil(astronaut: np.ndarray) -> None:
    small = np.ascontiguousarray(astronaut[:64, :64])
    from_list = PCAPatchTokenizer().fit([small, small[::-1]])
    from_batch = PCAPatchTokenizer().fit(np.stack([small, small[::-1]]))
    np.testing.assert_allclose(from_list.basis_, from_batch.basis_)
    as_uint8 = (small * 255).round().astype(np.uint8)
    a = from_list.encode(as_uint8).data
    b = from_list.encode(Image.fromarray(as_uint8)).data
    np.testing.assert_array_equal(a, b)


def test_reconstruction_curve_matches_decode_prefix(pca: PCAPatchTokenizer, coffee: np.ndarray) -> None:
    curve = reconstruction_curve(pca, coffee, [1, 8, 64])
    tokens = pca.encode(coffee)
    assert [k for k, _ in curve] == [1, 8, 64]
    assert curve[1][1] == pytest.approx(psnr(coffee, pca.decode_prefix(tokens, 8)))
    with pytest.raises(InvalidInput, match="tokenizer"):
        reconstruction_curve(DCTCodec(), coffee, [1])


def test_tokens_are_read_only(pca: PCAPatchTokenizer, coffee: np.ndarray) -> None:
    tokens = pca.encode(coffee)
    with pytest.raises(ValueError):
        tokens.data[0, 0] = 1
    with pytest.raises(TypeError):
        tokens.params["fit"] = "x"  # type: ignore[index]
    with pytest.raises(InvalidInput, match="kind"):
        Tokens(kind="mixed", data=np.zeros(1), count=1, bits=1, grid=(1, 1), image_size=(1, 1), ordered=False)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((16, 16, 3), np.nan, np.float32), "NaN"),
        (np.zeros((0, 16, 3), np.float32), "empty"),
        (np.zeros((16, 16, 4), np.float32), "shape"),
        (np.zeros((16, 16, 3), np.int64), "dtype"),
        (np.full((16, 16, 3), 255.0, np.float32), "outside"),
        ("astronaut.png", "numpy array"),
    ],
)
def test_bad_images_are_rejected_with_the_field(pca: PCAPatchTokenizer, image: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        pca.encode(image)
    assert caught.value.field == "image"


# --------------------------------------------------------------------------------------------------------------------
# VQ
# --------------------------------------------------------------------------------------------------------------------
def test_vq_bits_are_count_times_log2_codebook_plus_the_codebook(vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    assert tokens.kind == "discrete" and not tokens.ordered
    assert tokens.data.shape == (64, 64) and tokens.count == 4096
    assert tokens.bits == tokens.count * math.log2(256) + 256 * 8 * 8 * 3 * 16  # the fitted codebook, float16
    assert VQPatchTokenizer(codebook_size=100).code_bits == 7  # fixed-length codes: ceil(log2 K)
    assert 20 < psnr(astronaut, vq.decode(tokens)) < 40


def test_vq_fit_is_reproducible_for_a_seed(astronaut: np.ndarray) -> None:
    crop = np.ascontiguousarray(astronaut[:256, :256])
    a = VQPatchTokenizer(codebook_size=32, seed=3).fit(crop).codebook_
    b = VQPatchTokenizer(codebook_size=32, seed=3).fit(crop).codebook_
    c = VQPatchTokenizer(codebook_size=32, seed=4).fit(crop).codebook_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_vq_needs_at_least_as_many_patches_as_codes(astronaut: np.ndarray) -> None:
    with pytest.raises(InvalidInput, match="cannot fit 256 codewords") as caught:
        VQPatchTokenizer(codebook_size=256).fit(astronaut[:97, :131])
    assert caught.value.field == "images"


def test_vq_odd_size_round_trips(astronaut: np.ndarray, vq: VQPatchTokenizer) -> None:
    odd = astronaut[:97, :131]
    assert vq.decode(vq.encode(odd)).shape == (97, 131, 3)


def test_perturb_alpha_zero_and_delta_one_change_nothing(vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    np.testing.assert_array_equal(vq.perturb(tokens, alpha=0.0, delta=100, seed=1).data, tokens.data)
    np.testing.assert_array_equal(vq.perturb(tokens, alpha=1.0, delta=1, seed=1).data, tokens.data)


def test_perturb_is_reproducible_for_a_seed(vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    a = vq.perturb(tokens, alpha=0.5, delta=16, seed=7)
    b = vq.perturb(tokens, alpha=0.5, delta=16, seed=7)
    c = vq.perturb(tokens, alpha=0.5, delta=16, seed=8)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert a.bits == tokens.bits and dict(a.params["perturbation"]) == {"alpha": 0.5, "delta": 16, "seed": 7}


def test_perturb_replaces_about_alpha_of_tokens_within_the_neighbourhood(vq: VQPatchTokenizer,
                                                                         astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    perturbed = vq.perturb(tokens, alpha=0.5, delta=8, seed=0)
    before, after = tokens.data.ravel(), perturbed.data.ravel()
    changed = before != after
    # each token is redrawn with probability alpha and then keeps itself with probability 1/delta
    assert changed.mean() == pytest.approx(0.5 * 7 / 8, abs=0.04)
    neighbourhoods = vq.neighbours(np.arange(256), 8)
    assert np.all(neighbourhoods[:, 0] == np.arange(256))
    assert all(new in neighbourhoods[old] for old, new in zip(before[changed], after[changed], strict=True))


def test_larger_alpha_raises_the_reconstruction_error_on_average(vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    errors = [
        np.mean([np.mean((vq.decode(vq.perturb(tokens, alpha, 16, seed)) - astronaut) ** 2) for seed in range(5)])
        for alpha in (0.0, 0.1, 0.5, 1.0)
    ]
    assert errors == sorted(errors) and errors[0] < errors[1] < errors[3]


@pytest.mark.parametrize(
    ("alpha", "delta", "field"),
    [(-0.1, 4, "alpha"), (1.5, 4, "alpha"), (float("nan"), 4, "alpha"), (0.5, 0, "delta"), (0.5, 257, "delta"),
     (0.5, 2.5, "delta")],
)
def test_perturb_rejects_bad_arguments(vq: VQPatchTokenizer, astronaut: np.ndarray, alpha: float, delta: int,
                                       field: str) -> None:
    tokens = vq.encode(astronaut[:64, :64])
    with pytest.raises(InvalidInput) as caught:
        vq.perturb(tokens, alpha=alpha, delta=delta, seed=0)
    assert caught.value.field == field


# --------------------------------------------------------------------------------------------------------------------
# DCT
# --------------------------------------------------------------------------------------------------------------------
def test_zigzag_is_jpegs_scan() -> None:
    scan = zigzag(8)
    assert scan[:10].tolist() == [0, 1, 8, 16, 9, 2, 3, 10, 17, 24]
    assert sorted(scan.tolist()) == list(range(64)) and scan[-1] == 63


def test_dct_bits_and_quality_grow_with_kept_coefficients(astronaut: np.ndarray) -> None:
    codec = DCTCodec()
    tokens = codec.encode(astronaut, keep=10, coefficient_bits=8)
    assert tokens.count == 3 * 10 * 4096 and tokens.data.shape == (3, 10 * 4096)
    assert tokens.bits == 3 * 10 * 4096 * 8 + 3 * 10 * 64  # levels + float32 min and step per channel and position
    quality = [psnr(astronaut, codec.decode(codec.encode(astronaut, keep, 10))) for keep in (1, 4, 16, 64)]
    assert quality == sorted(quality)
    assert psnr(astronaut, codec.decode(codec.encode(astronaut, 64, 16))) > 60


@pytest.mark.parametrize("budget", [50_000, 300_000, 1_000_000])
def test_dct_at_bits_hits_the_budget_within_a_block(astronaut: np.ndarray, budget: int) -> None:
    tokens, reconstruction = DCTCodec().at_bits(astronaut, budget)
    depth = tokens.params["coefficient_bits"]
    assert 0 <= budget - tokens.bits < 3 * 64 * depth  # under one block's worth of coefficients
    np.testing.assert_array_equal(reconstruction, DCTCodec().decode(tokens))


def test_dct_more_bits_better_psnr(coffee: np.ndarray) -> None:
    codec = DCTCodec()
    quality = [psnr(coffee, codec.at_bits(coffee, bits)[1]) for bits in (20_000, 100_000, 400_000, 1_600_000)]
    assert all(a < b for a, b in zip(quality, quality[1:], strict=False))


def test_dct_matches_a_pca_prefix_budget(pca: PCAPatchTokenizer, astronaut: np.ndarray) -> None:
    prefix = pca.truncate(pca.encode(astronaut), 4)
    tokens, _ = DCTCodec().at_bits(astronaut, prefix.bits)
    assert tokens.bits <= prefix.bits and tokens.bits_per_pixel() == pytest.approx(prefix.bits_per_pixel(), rel=1e-3)


def test_dct_odd_size_and_bad_budget(astronaut: np.ndarray) -> None:
    codec = DCTCodec()
    assert codec.decode(codec.encode(astronaut[:97, :131], keep=6)).shape == (97, 131, 3)
    with pytest.raises(InvalidInput, match="minimum") as caught:
        codec.at_bits(astronaut, 100)
    assert caught.value.field == "bits"
    with pytest.raises(InvalidInput) as caught:
        codec.encode(astronaut, keep=65)
    assert caught.value.field == "keep"


# --------------------------------------------------------------------------------------------------------------------
# Token maps
# --------------------------------------------------------------------------------------------------------------------
def test_token_maps_have_the_image_size(pca: PCAPatchTokenizer, vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    odd = astronaut[:97, :131]
    for tokens in (pca.encode(odd), vq.encode(odd), DCTCodec().encode(odd, keep=3)):
        picture = token_map(tokens)
        assert picture.shape == (97, 131, 3) and picture.dtype == np.uint8
        assert np.unique(picture[:8, :8].reshape(-1, 3), axis=0).shape[0] == 1  # one flat colour per patch


def test_vq_token_map_uses_the_fixed_palette(vq: VQPatchTokenizer, astronaut: np.ndarray) -> None:
    tokens = vq.encode(astronaut)
    picture = token_map(tokens)
    palette = code_palette(256)
    assert np.unique(palette, axis=0).shape[0] == 256
    np.testing.assert_array_equal(picture[::8, ::8], palette[tokens.data])


def test_dct_token_map_shows_block_means(astronaut: np.ndarray) -> None:
    picture = token_map(DCTCodec().encode(astronaut, keep=1, coefficient_bits=12)).astype(np.float64)
    means = astronaut.reshape(64, 8, 64, 8, 3).mean(axis=(1, 3)) * 255
    assert np.abs(picture[::8, ::8] - means).max() < 2.0


def test_a_flat_image_is_exact_in_every_codec() -> None:
    flat = np.full((64, 48, 3), (0.2, 0.5, 0.9), np.float32)
    pca = PCAPatchTokenizer().fit(flat)
    vq = VQPatchTokenizer(codebook_size=8).fit(flat)  # every codeword is the same patch
    tokens = vq.perturb(vq.encode(flat), alpha=1.0, delta=8, seed=0)
    dct = DCTCodec()
    for decoded in (pca.decode_prefix(pca.encode(flat), 1), vq.decode(tokens), dct.decode(dct.encode(flat, 64, 2))):
        np.testing.assert_allclose(decoded, flat, atol=1e-6)  # 2-bit DCT too: zero AC is a quantiser level
