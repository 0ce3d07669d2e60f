"""CatVTON's pre-processing as the studio writes it: the centre crop, the garment on white, transparency, masks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.tasks.tryon.inputs import centre_crop_box, fit_garment, fit_mask, has_transparency
from tests.backends.tasks.tryon.common import GARMENTS


def test_centre_crop_keeps_the_output_aspect() -> None:
    assert centre_crop_box((0, 0, 400, 400), 0.75) == (50, 0, 350, 400)  # too wide: sides cut
    assert centre_crop_box((0, 0, 300, 800), 0.75) == (0, 200, 300, 600)  # too tall: top and bottom cut
    assert centre_crop_box((100, 0, 250, 200), 0.75) == (100, 0, 250, 200)  # already 3:4


def test_the_garment_is_fitted_and_centred_on_white() -> None:
    fitted = fit_garment(Image.new("RGB", (100, 50), (200, 0, 0)), 80, 100)
    pixels = np.asarray(fitted)
    assert fitted.size == (80, 100)
    assert (pixels[50, 40] == (200, 0, 0)).all() and (pixels[5, 40] == 255).all()  # scaled to 80x40, padded


def test_transparency_is_detected_in_every_form() -> None:
    rgba = Image.open(GARMENTS / "tshirt_transparent.png")
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    assert has_transparency(rgba) and has_transparency(buffer.getvalue())
    assert has_transparency(GARMENTS / "tshirt_transparent.png") and has_transparency(np.asarray(rgba))
    assert not has_transparency(GARMENTS / "tshirt.png") and not has_transparency(Image.new("RGBA", (4, 4), "red"))


def test_a_mask_is_cut_like_the_person() -> None:
    mask = np.zeros((400, 300), bool)
    mask[100:200, 0:150] = True
    fitted = fit_mask(mask, (300, 400), (0, 0, 300, 400), 150, 200)
    assert fitted.shape == (200, 150) and fitted[75, 30] and not fitted[10, 140]
    with pytest.raises(InvalidInput, match="mask: is 300x400 but the person photo is 200x400"):
        fit_mask(mask, (200, 400), (0, 0, 200, 400), 150, 200)
    with pytest.raises(InvalidInput, match="mask: marks nothing"):
        fit_mask(mask, (300, 400), (200, 0, 300, 400), 150, 200)
