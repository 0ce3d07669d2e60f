"""Rate FastChat battle JSONL from the command line.

    python -m arena.leaderboard BATTLES.jsonl [--ties davidson|fastchat] [--bootstrap 1000] [--seed 0]
        [--ci bootstrap|sandwich] [--min-votes 50] [--min-battles 10] [--prior 0] [--level 0.95] [--json OUT.json]
        [--plots DIR]

Each line is one battle: ``{"model_a": ..., "model_b": ..., "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)"}``
(other keys are ignored; an optional boolean ``a_on_left`` enables the position-bias estimate). Blank lines are
skipped; ``-`` reads standard input. A bad line stops the run with its line number and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Numpy's OpenBLAS on one thread (before numpy loads; an explicit setting wins): the solver's matrices are small,
# and OpenBLAS's idle workers spin on the core that the bootstrap draws and online Elo use. Measured on 1M battles,
# 2 cores: 0.65 s of system time -> 0.15 s, 1.45 s -> 1.18 s end to end.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from arena.battle_io import parse_lines, read_battles
from arena.board import MIN_BATTLES, Leaderboard, leaderboard

EXIT_BAD_INPUT = 2
__all__ = ["build_parser", "format_table", "main", "parse_lines", "read_battles", "write_plots"]


def format_table(board: Leaderboard) -> str:
    """A plain-text table of the board, with a header line of run parameters and the caveats."""
    level = f"{board.level:.0%}"
    nu = "" if board.tie_parameter is None else f", Davidson nu = {board.tie_parameter:.3f}"
    rounds = f"{board.bootstrap} bootstrap rounds, seed {board.seed}" if board.ci == "bootstrap" else "sandwich"
    prior = f", weak prior {board.prior:g}" if board.prior else ""
    lines = [f"{board.n_battles:,} battles, {len(board.rows)} models, ties: {board.ties}{nu}, "
             f"tie rate {board.tie_rate:.1%}, {level} CI: {rounds}{prior}"]
    header = f"{'Group':>5}  {'Rank(UB)':>8}  {'Model':<32} {'Rating':>8}  {level + ' CI':>15}  {'Votes':>7}  " \
             f"{'W/L/T':>17}  {'Online Elo':>10}"
    lines += [header, "-" * len(header)]
    for row in board.rows:
        rating = "—" if row.rating is None else f"{row.rating:.1f}"
        interval = "" if row.ci_low is None else f"+{row.ci_high - row.rating:.1f}/-{row.rating - row.ci_low:.1f}"
        if row.rating is not None and row.ci_low is None and row.note:
            interval = "too few votes"
        rank = "—" if row.rank_ub is None else str(row.rank_ub)
        flag = "  (preliminary)" if row.preliminary else ""
        lines.append(f"{row.group:>5}  {rank:>8}  {row.model[:32]:<32} {rating:>8}  {interval:>15}  "
                     f"{row.votes:>7,}  {f'{row.wins}/{row.losses}/{row.ties}':>17}  {row.online_elo:>10.1f}{flag}")
    bias = board.position_bias
    if bias.elo is not None:
        decisive = bias.left_wins + bias.right_wins
        lines.append(f"Left-side advantage: {bias.elo:+.1f} Elo ({level} CI {bias.ci_low:+.1f} to "
                     f"{bias.ci_high:+.1f}), left wins {bias.left_win_rate:.1%} of {decisive:,} decisive votes")
    lines += [f"Note: {note}" for note in board.warnings]
    return "\n".join(lines)


def write_plots(board: Leaderboard, folder: Path) -> list[Path]:
    """Save the ratings, win-rate and battle-count figures of a board as PNGs in ``folder``."""
    from arena import plots

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (("ratings.png", plots.ratings_figure), ("win_rate.png", plots.win_rate_figure),
                       ("battle_count.png", plots.battle_count_figure)):
        draw(board).savefig(folder / name, dpi=120, bbox_inches="tight")
        written.append(folder / name)
    return written


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="python -m arena.leaderboard",
                                     description="Bradley-Terry / Davidson leaderboard of FastChat battle JSONL.")
    parser.add_argument("battles", help="battle JSONL file ('-' for standard input)")
    parser.add_argument("--ties", choices=("davidson", "fastchat"), default="davidson",
                        help="davidson: fit a tie parameter; fastchat: a tie is half a win and half a loss")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--ci", choices=("bootstrap", "sandwich"), default="bootstrap")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--min-votes", type=int, default=50, help="fewer votes mark a model preliminary")
    parser.add_argument("--min-battles", type=int, default=MIN_BATTLES,
                        help=f"fewer battles: a rating but no interval (default {MIN_BATTLES})")
    parser.add_argument("--prior", type=float, default=0.0,
                        help="opt-in weak prior: virtual games per model against a reference, half won, half lost "
                             "(rates unbeaten models and one-sided groups; default 0: off)")
    parser.add_argument("--json", type=Path, help="write the leaderboard as JSON here")
    parser.add_argument("--plots", type=Path, help="write ratings / win-rate / battle-count PNGs into this folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for bad input)."""
    args = build_parser().parse_args(argv)
    try:
        battles = read_battles(args.battles)
        board = leaderboard(battles, ties=args.ties, bootstrap=args.bootstrap, seed=args.seed, ci=args.ci,
                            min_votes=args.min_votes, level=args.level, prior=args.prior,
                            min_battles=args.min_battles)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_table(board))
    if args.json is not None:
        args.json.write_text(json.dumps(board.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.plots is not None:
        for path in write_plots(board, args.plots):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
