"""Optimal assignment (the Hungarian, or Kuhn-Munkres, algorithm) in NumPy.

Tracking faces pairs the tracks of one frame with the detections of the next at
the least total cost. SciPy's ``linear_sum_assignment`` does this, but SciPy is
about 40 MB that the light install has no other use for, and the matrices here
are a few faces by a few faces. This is the O(n³) shortest-augmenting-path form
(Jonker-Volgenant style potentials, as in e-maxx's "Hungarian algorithm"), with
the inner loop over columns done in NumPy.
"""

from __future__ import annotations

import numpy as np


def linear_sum_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair rows with columns so that the sum of the chosen costs is the least possible.

    Each row gets at most one column and each column at most one row; the
    shorter side is matched in full. Same contract as
    ``scipy.optimize.linear_sum_assignment`` for finite costs.

    Args:
        cost: a finite (R, C) matrix; R and C may differ, and either may be 0.

    Returns:
        Row indices (ascending) and their column indices, ``min(R, C)`` of each.

    Raises:
        ValueError: when `cost` is not 2-D or holds NaN or infinity (leave
            impossible pairs out with a large finite cost, then drop them).

    Example:
        >>> linear_sum_assignment(np.array([[4.0, 1.0], [2.0, 8.0]]))
        (array([0, 1]), array([1, 0]))
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"the cost matrix must be 2-D, not {cost.ndim}-D")
    if not np.isfinite(cost).all():
        raise ValueError("the cost matrix must be finite")
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    columns_of_rows = _assign_rows(cost)
    rows = np.arange(cost.shape[0])
    if transposed:
        order = np.argsort(columns_of_rows)
        return columns_of_rows[order], rows[order]
    return rows, columns_of_rows


def _assign_rows(cost: np.ndarray) -> np.ndarray:
    """The column of each row of an (n, m) matrix with n <= m, at the least total cost.

    Rows are added one at a time; each addition finds the shortest augmenting
    path in the reduced costs ``cost[i, j] - u[i] - v[j]`` (which stay >= 0)
    and flips the assignment along it. Index 0 of `v`, `owner` and `way` is a
    virtual column where each new row's path starts, hence the 1-based rows and
    columns inside.
    """
    n, m = cost.shape
    u = np.zeros(n + 1)  # row potentials
    v = np.zeros(m + 1)  # column potentials
    owner = np.zeros(m + 1, dtype=np.int64)  # the row (1-based) holding each column; 0 = free
    way = np.zeros(m + 1, dtype=np.int64)  # the previous column on the shortest path to each column
    for row in range(1, n + 1):
        owner[0] = row
        column = 0
        slack = np.full(m + 1, np.inf)  # the shortest path length found to each column so far
        visited = np.zeros(m + 1, dtype=bool)
        while owner[column] != 0:
            visited[column] = True
            reduced = cost[owner[column] - 1] - u[owner[column]] - v[1:]
            free = ~visited[1:]
            shorter = free & (reduced < slack[1:])
            slack[1:][shorter] = reduced[shorter]
            way[1:][shorter] = column
            candidates = np.where(free, slack[1:], np.inf)
            nearest = int(np.argmin(candidates)) + 1
            delta = candidates[nearest - 1]
            u[owner[visited]] += delta
            v[visited] -= delta
            slack[1:][free] -= delta
            column = nearest
        while column:  # flip the path back to the virtual column
            previous = way[column]
            owner[column] = owner[previous]
            column = previous
    columns_of_rows = np.empty(n, dtype=np.int64)
    assigned = np.nonzero(owner[1:])[0]
    columns_of_rows[owner[1:][assigned] - 1] = assigned
    return columns_of_rows
