"""The leaderboard command line, run as a subprocess on generated FastChat battle JSONL; and its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena import plots
from arena.board import leaderboard
from arena.leaderboard import parse_lines

ROOT = Path(__file__).resolve().parents[2]
ELO = {"alpha": 150.0, "bravo": 50.0, "charlie": 0.0, "delta": -60.0, "echo": -140.0}


def write_battles(path: Path, n: int = 2_000, seed: int = 0) -> Path:
    """FastChat-style rows (with extra keys the CLI must ignore) from known strengths, 25% ties."""
    rng = np.random.default_rng(seed)
    names = list(ELO)
    with path.open("w", encoding="utf-8") as out:
        for k in range(n):
            a, b = rng.choice(len(names), 2, replace=False)
            p_a = 1.0 / (1.0 + 10 ** ((ELO[names[b]] - ELO[names[a]]) / 400))
            draw = rng.random()
            winner = ("tie" if draw < 0.15 else "tie (bothbad)" if draw < 0.25
                      else "model_a" if rng.random() < p_a else "model_b")
            row = {"model_a": names[a], "model_b": names[b], "winner": winner, "judge": f"user{k % 7}",
                   "tstamp": 1.7e9 + k, "anony": True, "a_on_left": bool(rng.random() < 0.5)}
            out.write(json.dumps(row) + "\n")
            if k == 10:
                out.write("\n")  # blank lines are allowed
    return path


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.leaderboard", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def battles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_battles(tmp_path_factory.mktemp("cli") / "battles.jsonl")


def test_cli_writes_the_json_schema_and_prints_a_table(battles_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.json"
    done = run_cli(battles_file, "--ties", "davidson", "--bootstrap", "200", "--seed", "3", "--json", out)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["ties"] == "davidson" and data["n_battles"] == 2_000 and data["bootstrap"] == 200
    assert data["seed"] == 3 and data["ci"] == "bootstrap" and data["tie_parameter"] > 0
    rows = data["models"]
    assert [r["model"] for r in rows] == list(ELO)  # the true order, best first
    for r in rows:
        assert r["ci_low"] < r["rating"] < r["ci_high"]
        assert r["votes"] == r["wins"] + r["losses"] + r["ties"] and r["rank_ub"] >= 1
        assert not r["preliminary"] and r["online_elo"] > 0
    assert data["position_bias"]["n_battles"] == 2_000
    assert np.mean([r["rating"] for r in rows]) == pytest.approx(1000.0)
    assert "Rank(UB)" in done.stdout and all(name in done.stdout for name in ELO)
    assert "Left-side advantage" in done.stdout


def test_fastchat_ties_compress_the_scale_relative_to_davidson(battles_file: Path, tmp_path: Path) -> None:
    spread = {}
    for mode in ("fastchat", "davidson"):
        out = tmp_path / f"{mode}.json"
        done = run_cli(battles_file, "--ties", mode, "--ci", "sandwich", "--json", out)
        assert done.returncode == 0, done.stderr
        data = json.loads(out.read_text("utf-8"))
        assert data["ties"] == mode and data["ci"] == "sandwich" and data["bootstrap"] == 0
        assert (data["tie_parameter"] is None) == (mode == "fastchat")
        ratings = [r["rating"] for r in data["models"]]
        spread[mode] = max(ratings) - min(ratings)
    assert spread["fastchat"] < 0.9 * spread["davidson"]


def test_cli_matches_the_library(battles_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.json"
    done = run_cli(battles_file, "--bootstrap", "50", "--seed", "1", "--min-votes", "900", "--json", out)
    assert done.returncode == 0, done.stderr
    with battles_file.open(encoding="utf-8") as lines:
        expected = leaderboard(parse_lines(lines), bootstrap=50, seed=1, min_votes=900).to_dict()
    # Equal up to the last bits of floats: the CLI runs numpy's BLAS on one thread, this process may not, and the
    # sums of the position-bias fit come out in another order.
    assert_close(json.loads(out.read_text("utf-8")), json.loads(json.dumps(expected)))
    assert all(r["preliminary"] for r in expected["models"])  # about 800 votes each, below 900


def assert_close(got: object, want: object, where: str = "board") -> None:
    """``got == want``, floats within a relative 1e-9."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for k, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_close(a, b, f"{where}[{k}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    else:
        assert got == want, where


@pytest.mark.parametrize(("bad_line", "message"), [
    ('{"model_a": "alpha", "model_b": "bravo", "winner": "skip"}', "winner must be one of"),
    ('{"model_a": "alpha", "model_b": "bravo", "winner": ', "not valid JSON"),
    ('["alpha", "bravo", "model_a"]', "expected an object"),
    ('{"model_a": "alpha", "winner": "tie"}', "model_b must be a non-empty string"),
    ('{"model_a": "alpha", "model_b": " \\t", "winner": "tie"}', "model_b must be a non-empty string"),
    ('{"model_a": "\\u3000", "model_b": "bravo", "winner": "tie"}', "model_a must be a non-empty string"),
])
def test_a_bad_line_exits_2_naming_its_line_number(tmp_path: Path, bad_line: str, message: str) -> None:
    good = '{"model_a": "alpha", "model_b": "bravo", "winner": "model_a"}'
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([good, good, bad_line, good]) + "\n", encoding="utf-8")
    done = run_cli(path, "--bootstrap", "10")
    assert done.returncode == 2
    assert "line 3" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


def test_empty_input_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    done = run_cli(path)
    assert done.returncode == 2 and "no battles" in done.stderr
    missing = run_cli(tmp_path / "nope.jsonl")
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr


def test_cli_writes_the_three_figures(battles_file: Path, tmp_path: Path) -> None:
    done = run_cli(battles_file, "--bootstrap", "20", "--plots", tmp_path / "figures")
    assert done.returncode == 0, done.stderr
    for name in ("ratings.png", "win_rate.png", "battle_count.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_are_matplotlib_figures_with_one_label_per_model(battles_file: Path) -> None:
    from matplotlib.figure import Figure

    with battles_file.open(encoding="utf-8") as lines:
        battles = parse_lines(lines)
    board = leaderboard(battles, bootstrap=20)
    order = [row.model for row in board.rows]
    made = [plots.plot_ratings(board), plots.plot_win_rate_matrix(battles, order),
            plots.plot_battle_count_matrix(battles), plots.plot_win_rate_matrix(battles)]
    for figure in made:
        assert isinstance(figure, Figure)
        labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
        assert len(labels) == len(ELO)
    assert [label.split(". ", 1)[1] for label in (t.get_text() for t in made[0].axes[0].get_yticklabels())] == order
    assert [t.get_text() for t in made[3].axes[0].get_yticklabels()][0] == "alpha"  # strongest first by default
    for figure in (plots.ratings_figure(board), plots.win_rate_figure(board), plots.battle_count_figure(board)):
        assert [t.get_text().split(". ")[-1] for t in figure.axes[0].get_yticklabels()] == order


def write_rows(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """FastChat rows ``(model_a, model_b, winner)``."""
    with path.open("w", encoding="utf-8") as out:
        for a, b, winner in rows:
            out.write(json.dumps({"model_a": a, "model_b": b, "winner": winner}) + "\n")
    return path


def unbeaten_rows(seed: int = 5) -> list[tuple[str, str, str]]:
    """alpha..charlie trade wins; zulu wins every battle it plays."""
    rng = np.random.default_rng(seed)
    names = ["alpha", "bravo", "charlie", "zulu"]
    rows = []
    for _ in range(400):
        a, b = rng.choice(len(names), 2, replace=False)
        winner = "model_a" if rng.random() < 0.5 else "model_b"
        if "zulu" in (names[a], names[b]):
            winner = "model_a" if names[a] == "zulu" else "model_b"
        rows.append((names[a], names[b], winner))
    return rows


def test_cli_prior_rates_an_unbeaten_model(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "unbeaten.jsonl", unbeaten_rows())
    boards = {}
    for prior in ("0", "3"):
        out = tmp_path / f"prior-{prior}.json"
        done = run_cli(path, "--bootstrap", "50", "--prior", prior, "--json", out)
        assert done.returncode == 0, done.stderr
        boards[prior] = json.loads(out.read_text("utf-8"))
    plain = {r["model"]: r for r in boards["0"]["models"]}
    assert plain["zulu"]["rating"] is None and "never lost" in plain["zulu"]["note"]
    assert boards["0"]["prior"] == 0.0 and any("zulu never lost" in w for w in boards["0"]["warnings"])
    weak = boards["3"]
    assert weak["prior"] == 3.0 and weak["models"][0]["model"] == "zulu" and weak["models"][0]["rank_ub"] == 1
    assert all(r["rating"] is not None and r["ci_low"] < r["rating"] < r["ci_high"] for r in weak["models"])
    assert any("prior of 3 virtual games" in w for w in weak["warnings"])
    bad = run_cli(path, "--prior", "-1")
    assert bad.returncode == 2 and "prior" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_json_names_groups_that_never_met_and_warns(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    rows = []
    for group in (("alpha", "bravo", "charlie"), ("x-ray", "yankee")):
        for _ in range(300):
            a, b = rng.choice(len(group), 2, replace=False)
            rows.append((group[a], group[b], "model_a" if rng.random() < 0.6 else "model_b"))
    out = tmp_path / "groups.json"
    done = run_cli(write_rows(tmp_path / "groups.jsonl", rows), "--bootstrap", "50", "--json", out)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text("utf-8"))
    assert [(g["name"], sorted(g["models"])) for g in data["groups"]] == [
        ("A", ["alpha", "bravo", "charlie"]), ("B", ["x-ray", "yankee"])]
    assert {r["model"]: r["group"] for r in data["models"]}["yankee"] == "B"
    assert any("2 groups that never met" in w for w in data["warnings"])
    for name in ("A", "B"):  # Rank(UB) within each group: each has its own first place
        assert min(r["rank_ub"] for r in data["models"] if r["group"] == name) == 1
    assert "Note: the models form 2 groups" in done.stdout


def test_standard_input_reads_like_a_file(battles_file: Path, tmp_path: Path) -> None:
    """``-`` reads standard input (a buffer) where a file is memory-mapped: the same board either way."""
    from_file, from_stdin = tmp_path / "file.json", tmp_path / "stdin.json"
    assert run_cli(battles_file, "--bootstrap", "20", "--json", from_file).returncode == 0
    piped = subprocess.run([sys.executable, "-m", "arena.leaderboard", "-", "--bootstrap", "20", "--json",
                            str(from_stdin)], input=battles_file.read_text("utf-8"), capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(from_stdin.read_text("utf-8")) == json.loads(from_file.read_text("utf-8"))
