"""Reading released checkpoints safely: allow-listed unpickling, container unwrapping, documented renames and
drops, key reports, checkpoint roots, and ``python app.py --check-weights``.

Files in the released shapes are written with stride-0 tensors (``torch.zeros(1).expand(shape)`` keeps its one-value
storage through ``torch.save``), so a "full-size" checkpoint of a 72M-parameter model takes a few kilobytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

import app
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.registry import default_registry
from backends.tasks.tokenize.research import checkpoint
from backends.tasks.tokenize.research.adapter import check_weights

torch = pytest.importorskip("torch")
MANIFESTS = Path(__file__).resolve().parents[3] / "fixtures" / "tokenizer-manifests"


class NotAllowed:
    """A class a checkpoint must not be able to make the unpickler construct."""


def released_state(name: str) -> dict:
    """A state dict with every key and shape of a manifest, as one-value stride-0 tensors."""
    keys = json.loads((MANIFESTS / f"{name}.json").read_text())["keys"]
    return {k: torch.zeros(1).expand(*shape) if shape else torch.zeros(()) for k, shape in keys.items()}


def test_training_containers_load_with_only_namespace_allow_listed(tmp_path: Path) -> None:
    state = {"w": torch.ones(2)}
    torch.save({"model": state, "ema": {"w": torch.full((2,), 2.0)}, "optimizer": {}, "steps": 3,
                "args": argparse.Namespace(codebook_size=4096)}, tmp_path / "c.pt")
    content = checkpoint.read_file(tmp_path / "c.pt")
    assert content["args"].codebook_size == 4096
    unwrapped, entry = checkpoint.unwrap(content)
    assert entry == "ema" and torch.equal(unwrapped["w"], torch.full((2,), 2.0))  # EMA first, as the authors load
    assert checkpoint.unwrap({"model": state})[1] == "model"
    assert checkpoint.unwrap(state) == (state, "flat")
    with pytest.raises(ModelUnavailable, match="none of the entries"):
        checkpoint.unwrap({"optimizer": {}, "steps": 1})


def test_an_arbitrary_python_object_is_refused(tmp_path: Path) -> None:
    torch.save({"model": {"w": torch.ones(1)}, "args": NotAllowed()}, tmp_path / "evil.pt")
    with pytest.raises(ModelUnavailable, match="safe unpickler refuses.*never unpickles with weights_only=False"):
        checkpoint.read_file(tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="junk.pt"):
        checkpoint.read_file(tmp_path / "junk.pt")


def test_clean_strips_compile_wrappers_and_drops_documented_prefixes() -> None:
    state = {"dit._orig_mod.blocks.0.w": 1, "_orig_mod.encoder.x": 2, "semantic_model.blocks.0.w": 3, "keep": 4}
    cleaned, dropped = checkpoint.clean(state, ("semantic_model.",), renames={"keep": "kept"})
    assert cleaned == {"dit.blocks.0.w": 1, "encoder.x": 2, "kept": 4} and dropped == ["semantic_model.blocks.0.w"]


def test_checkpoint_roots_come_before_the_hub(tmp_path: Path, no_network) -> None:
    import huggingface_hub.constants

    spec = default_registry()["tok/llamagen-vq"]
    folder = tmp_path / "roots" / "FoundationVision" / "LlamaGen"
    folder.mkdir(parents=True)
    (folder / "vq_ds16_c2i.pt").write_bytes(b"x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
        settings = Settings(profile="real", data_dir=tmp_path, offline=True, checkpoint_roots=(tmp_path / "roots",))
        assert checkpoint.find_released(spec, settings, "vq_ds16_c2i.pt") == folder / "vq_ds16_c2i.pt"
        assert weights.availability(spec, settings) == (True, "in a checkpoint root (STUDIO_CHECKPOINT_ROOTS)")
        bare = Settings(profile="real", data_dir=tmp_path, offline=True)
        assert weights.availability(spec, bare)[0] is False
        with pytest.raises(ModelUnavailable, match="vq_ds16_c2i.pt: .*make fetch MODEL=tok/llamagen-vq"):
            checkpoint.find_released(spec, bare, "vq_ds16_c2i.pt")


def test_check_weights_reports_a_released_layout_as_matching(tmp_path: Path) -> None:
    state = released_state("robusttok_xqgan4096_DERIVED")
    checkpoint.save_training_container(tmp_path / "RobustTok-zero.pt", state, {"codebook_size": 4096})
    matches, report = check_weights(default_registry()["tok/robusttok"], Settings(data_dir=tmp_path),
                                    tmp_path / "RobustTok-zero.pt")
    assert matches, report
    assert "entry used: ema" in report and "semantic_model.* (174 tensors)" in report
    assert "every key and shape matches" in report and "the file loads with that architecture" in report


def test_check_weights_lists_missing_unexpected_and_misshaped_keys(tmp_path: Path) -> None:
    state = released_state("llamagen_vq16")
    del state["quantize.codebook_used"]
    state["quantize.embedding.weight"] = torch.zeros(1).expand(8192, 8)
    state["discriminator.w"] = torch.zeros(1)
    torch.save({"model": state}, tmp_path / "vq.pt")
    matches, report = check_weights(default_registry()["tok/llamagen-vq"], Settings(data_dir=tmp_path),
                                    tmp_path / "vq.pt")
    assert not matches
    assert "missing (1):\n  quantize.codebook_used" in report
    assert "unexpected (1):\n  discriminator.w" in report
    assert "quantize.embedding.weight: [16384, 8] vs [8192, 8]" in report
    assert "does not load even with the architecture read from it" in report


def test_check_weights_on_a_titok_mixin_folder_and_flat_file(tmp_path: Path) -> None:
    torch.save(released_state("titok_s128"), tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text(json.dumps({"model": {"vq_model": {"use_l2_norm": True}}}))
    spec = default_registry()["tok/titok-s128"]
    assert check_weights(spec, Settings(data_dir=tmp_path), tmp_path)[0]
    assert check_weights(spec, Settings(data_dir=tmp_path), tmp_path / "pytorch_model.bin")[0]
    matches, report = check_weights(default_registry()["tok/titok"], Settings(data_dir=tmp_path), tmp_path)
    assert not matches and "mis-shaped" in report  # an S-128 file is not the L-32 release


def test_loading_a_wrong_file_names_the_keys_and_the_command(tmp_path: Path) -> None:
    from backends.tasks.tokenize.research import llamagen

    with torch.device("meta"):
        model = llamagen.build(llamagen.MINIATURE)
    state = dict(model.state_dict())
    state.pop("quantize.codebook_used")
    with pytest.raises(ModelUnavailable, match=r"missing \(1\):\n  quantize.codebook_used(.|\n)*--check-weights"):
        checkpoint.load_strict(model, state, "vq.pt")


def test_check_weights_refuses_what_it_cannot_check(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="model: tok/pca is not a research tokenizer"):
        check_weights(default_registry()["tok/pca"], Settings(data_dir=tmp_path), tmp_path)
    with pytest.raises(InvalidInput, match="file: .*does not exist"):
        check_weights(default_registry()["tok/llamagen-vq"], Settings(data_dir=tmp_path), tmp_path / "nope.pt")


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    torch.save({"ema": released_state("llamagen_vq16")}, tmp_path / "ok.pt")
    assert app.main(["--check-weights", "tok/llamagen-vq", str(tmp_path / "ok.pt")]) == 0
    assert "every key and shape matches" in capsys.readouterr().out
    torch.save({"ema": {"x": torch.zeros(1)}}, tmp_path / "bad.pt")
    assert app.main(["--check-weights", "tok/llamagen-vq", str(tmp_path / "bad.pt")]) == 1
    assert "missing (344)" in capsys.readouterr().out
    assert app.main(["--check-weights", "tok/nope", str(tmp_path / "ok.pt")]) == 2
    assert "unknown model key 'tok/nope'" in capsys.readouterr().err
