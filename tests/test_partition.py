"""Partitioned runs on dask.distributed give the single run's results, to 1e-9, on the IoW.

The Isle of Wight (89 LSOAs, 76,524 network nodes, 42,657 building origins) is
split into 4 tiles and into 3 groups of MSOAs (LSOA name prefixes); every
per-area value, rank, decile and driver must equal the single run's. With the
real IoD2025 File 7 (population) from ``../shared/data`` the E2SFCA columns and
population weighting are covered too; without it the run uses building weights.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import IOW_FILE7

from socialrisk.pipeline import compute, prepare
from socialrisk.settings import load_settings

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")

from socialrisk.partition import partition_areas, run_partitioned  # noqa: E402

pytestmark = pytest.mark.slow  # dask clusters and whole Isle of Wight runs (~70 s)


@pytest.fixture(scope="module")
def prepared():
    flags = {"file7_download": False, "quiet": True}
    if IOW_FILE7.is_file():
        flags["deprivation"] = [str(IOW_FILE7)]
    return prepare(load_settings(None, flags))


@pytest.fixture(scope="module")
def single(prepared):
    return compute(copy.deepcopy(prepared))


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.drop(columns="geometry"), b.drop(columns="geometry")
    assert list(a.columns) == list(b.columns)
    num = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    x = a[num].astype(float).to_numpy()
    y = b[num].astype(float).to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.array_equal(np.isinf(x), np.isinf(y))
    fin = np.isfinite(x)
    np.testing.assert_allclose(y[fin], x[fin], rtol=0, atol=1e-9)
    other = [c for c in a.columns if c not in num]
    pd.testing.assert_frame_equal(a[other], b[other])


@pytest.mark.parametrize("by,parts", [("tiles", 4), ("msoa", 3)])
def test_partitioned_equals_single_run(prepared, single, client, by, parts):
    res = run_partitioned(prepared.settings, parts=parts, client=client, by=by,
                          prepared=copy.deepcopy(prepared))
    _assert_same(single.areas, res.areas)
    part = res.manifest["access"]["partition"]
    assert part["parts"] == parts
    # every origin belongs to exactly one part; halos and buffers were used
    assert sum(r["own_origins"] for r in part["per_part"]) == len(prepared.origins)
    assert all(r["halo_origins"] > 0 for r in part["per_part"])
    assert all(r["buffer_m"][0] >= part["pair_bound_m"] for r in part["per_part"])
    # the parts really were clipped: some clip is smaller than the whole network
    assert min(r["nodes"] for r in part["per_part"]) < prepared.network.n_nodes
    if prepared.population is not None:
        e2 = [c for c in single.areas.columns if c.endswith("_e2sfca")]
        assert e2 and single.areas[e2].notna().any().all()


def test_partition_areas(prepared):
    areas = prepared.areas
    tiles = partition_areas(areas, 4, "tiles")
    assert sorted(np.bincount(tiles)) == [22, 22, 22, 23]
    # one local authority on the island: by name prefix "Isle of Wight"
    assert set(partition_areas(areas, 0, "lad")) == {0}
    msoa = partition_areas(areas, 0, "msoa")
    names = areas[next(c for c in areas.columns if c.lower().endswith("name"))]
    assert len(set(msoa)) == names.str[:-1].nunique()
    with_lad = areas.assign(LAD21CD=np.where(np.arange(len(areas)) % 2, "E1", "E2"))
    assert len(set(partition_areas(with_lad, 0, "lad"))) == 2
