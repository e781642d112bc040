"""The fault matrix in CI: 5 seeds x 10/30/50% faults, every cell ends with the exact archive.

Each cell is a local Medium-like site (127.0.0.1) failing that share of its requests with
503s, 429s with Retry-After, connection resets, timeouts and truncated bodies, crawled with
the real CLI; a run that exits 4 (partial) is run again, faults still on. The 15 cells run
two at a time (each has its own server and database) in about two minutes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fault_matrix import EXIT_OK, EXIT_PARTIAL, problems, run_cell

SEEDS = (1, 2, 3, 4, 5)
RATES = (0.1, 0.3, 0.5)
WORKERS = 2


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> dict[tuple[int, float], dict]:
    """Every cell, run once for the whole module."""
    folder = tmp_path_factory.mktemp("fault-matrix")
    cells = [(seed, rate) for rate in RATES for seed in SEEDS]
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            cell: pool.submit(run_cell, cell[0], cell[1], db_dir=folder / f"s{cell[0]}")
            for cell in cells
        }
        return {cell: future.result() for cell, future in futures.items()}


@pytest.mark.parametrize("rate", RATES, ids=lambda rate: f"{rate:.0%}")
@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed{seed}")
def test_every_post_is_archived_once_and_exactly(matrix, seed, rate):
    cell = matrix[seed, rate]
    assert problems(cell) == []
    # The same, spelled out: partial runs until the last, which succeeds with every post.
    codes = cell["exit_codes"]
    assert codes[-1] == EXIT_OK, cell["runs"][-1]["stderr"]
    assert all(code == EXIT_PARTIAL for code in codes[:-1]), codes
    final = cell["runs"][-1]
    assert final["stored"] == final["distinct"] == cell["expected"]
    assert (final["lost"], final["wrong"], final["unexpected"]) == (0, 0, 0)
    assert all(run["duplicates"] == run["duplicate_urls"] == 0 for run in cell["runs"])
    assert not any(run["traceback"] for run in cell["runs"])


def test_the_matrix_really_exercises_faults_and_re_runs(matrix):
    """A matrix that injected nothing, or never needed a re-run, would prove nothing."""
    for (seed, rate), cell in matrix.items():
        injected = sum(run["resets"] + run["503"] + run["429"] for run in cell["runs"])
        assert injected > 0, f"seed {seed}, rate {rate:.0%}: no fault was injected"
    re_run = [cell for (_, rate), cell in matrix.items() if rate == 0.5 and len(cell["runs"]) > 1]
    assert re_run, "no 50% cell needed a second run: re-runs were not exercised"
