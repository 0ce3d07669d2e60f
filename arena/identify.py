"""What the battles can say: which models can be rated at all, and against which others.

Two facts decide it, both from the collapsed pair counts:

* **Groups.** The comparison graph (an edge between two models that met) may fall apart into groups that never
  met. A rating is a difference to the other models of its own group: ratings of different groups are not on one
  scale, and no model of one group is "surely better" than one of another.
* **Separation.** Within a group, Bradley-Terry's maximum-likelihood estimate is finite only when the directed
  graph "loser -> winner" (a tie both ways) is strongly connected (Ford 1957, "Solution of a ranking problem from
  binary comparisons"). A set of models that never lost to the rest of its group has an infinite MLE: a solver
  stops wherever its tolerance says, with an interval that looks tight and means nothing. We rate the largest
  strongly connected part of each group (the *core*: its MLE is the limit of the full MLE, because battles against
  separated models contribute nothing to it in the limit) and say for every other model what it did.

A weak prior (``prior`` virtual games of every model against a fixed reference, half won and half lost) makes
everything identifiable; it is opt-in because it pulls ratings towards the reference, the more so the fewer votes a
model has.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from arena import bt_solver


@dataclass(frozen=True, eq=False)
class Structure:
    """Groups and identifiable models of one set of battles.

    Attributes:
        group: ``(M,)`` group index of each model; 0 is the group with the most battles.
        names: Group names (``"A"``, ``"B"``, ...), by group index.
        core: ``(M,)`` whether the model's rating is identifiable (always True with a prior).
        notes: Per model: why it has no rating (``""`` when it has one).
        separated: Whether some group had models outside its core.
    """

    group: np.ndarray
    names: tuple[str, ...]
    core: np.ndarray
    notes: tuple[str, ...]
    separated: bool

    def members(self, g: int) -> np.ndarray:
        """Indices of the models of group ``g``."""
        return np.flatnonzero(self.group == g)


def group_name(index: int) -> str:
    """``A``, ``B``, ... ``Z``, ``AA``, ``AB``... (spreadsheet-style), stable for a given group order."""
    letters = string.ascii_uppercase
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = letters[rest] + name
    return name


def analyse(design: bt_solver.PairDesign, counts: np.ndarray, models: tuple[str, ...], prior: float) -> Structure:
    """Find the groups, and the identifiable core of each.

    Args:
        design: The collapsed cells (pairs ``i < j`` that met).
        counts: ``(3, P)`` wins of ``i``, wins of ``j``, ties.
        models: Model names, by index.
        prior: Virtual games per model against a fixed reference (0: none).

    Returns:
        The :class:`Structure`.
    """
    m = len(models)
    i, j = design.i, design.j
    battles = counts.sum(axis=0)
    # 1. groups: connected components of the comparison graph, the busiest first
    met = coo_matrix((np.ones(len(i)), (i, j)), shape=(m, m))
    _, raw_group = connected_components(met, directed=False)
    load = np.bincount(raw_group[i], weights=battles, minlength=raw_group.max() + 1)
    order = sorted(range(len(load)), key=lambda g: (-load[g], int(np.flatnonzero(raw_group == g)[0])))
    group = np.empty(m, dtype=np.intp)
    for new, old in enumerate(order):
        group[raw_group == old] = new
    names = tuple(group_name(g) for g in range(len(order)))
    if prior > 0:
        return Structure(group, names, np.ones(m, dtype=bool), ("",) * m, False)
    # 2. strongly connected parts of "loser -> winner" (ties both ways)
    ties = counts[2] > 0
    i_won, j_won = (counts[0] > 0) | ties, (counts[1] > 0) | ties
    rows = np.concatenate([j[i_won], i[j_won]])
    cols = np.concatenate([i[i_won], j[j_won]])
    beats = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    _, part = connected_components(beats, directed=True, connection="strong")
    core = np.zeros(m, dtype=bool)
    notes = [""] * m
    separated = False
    for g, name in enumerate(names):
        members = np.flatnonzero(group == g)
        parts = np.unique(part[members])
        if len(parts) == 1:
            core[members] = True
            continue
        separated = True
        # 3. the core: the strongly connected part with the most battles inside it
        inside = part[i] == part[j]
        weight = {p: battles[inside & (part[i] == p)].sum() for p in parts}
        best = max(parts, key=lambda p: (weight[p], int((part[members] == p).sum())))
        if (part[members] == best).sum() >= 2:
            core[members[part[members] == best]] = True
        for p in parts:
            if p == best and core[members[part[members] == p][0]]:
                continue
            notes_for = _separation_note(p, part, design, counts, name, len(members))
            for k in members[part[members] == p]:
                notes[k] = notes_for
    return Structure(group, names, core, tuple(notes), separated)


def _separation_note(p: int, part: np.ndarray, design: bt_solver.PairDesign, counts: np.ndarray, group: str,
                     size: int) -> str:
    """Why the models of strongly connected part ``p`` cannot be rated, from their battles with the rest."""
    i, j = design.i, design.j
    mine_i, mine_j = part[i] == p, part[j] == p
    cross = mine_i != mine_j
    won = counts[0][cross & mine_i].sum() + counts[1][cross & mine_j].sum()
    lost = counts[1][cross & mine_i].sum() + counts[0][cross & mine_j].sum()
    where = f"the rest of group {group}" if size > 2 else f"the other model of group {group}"
    if lost == 0:
        return f"never lost to {where}: its rating has no finite estimate (a weak prior rates it)"
    if won == 0:
        return f"never won against {where}: its rating has no finite estimate (a weak prior rates it)"
    return f"its results against {where} are one-sided, so it is not on their scale (a weak prior rates it)"
