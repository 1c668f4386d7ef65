"""E2SFCA / 2SFCA: hand-computed values, a plain reference implementation and PySAL ``access``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from access import Access
from access import weights as pysal_weights
from conftest import IOW_FILE7, IOW_LSOA, IOW_PBF, needs_shared

from risk import decay
from risk.fca import e2sfca, two_sfca


def hand_example():
    """Synthetic: demand A (100 people), B (300), C (50, far from everything);
    supply X (capacity 2), Y (1)."""
    demand = pd.Series({"A": 100.0, "B": 300.0, "C": 50.0})
    supply = pd.Series({"X": 2.0, "Y": 1.0})
    cost = pd.DataFrame({"demand": ["A", "A", "B", "B", "C"],
                         "supply": ["X", "Y", "X", "Y", "X"],
                         "cost": [0.0, 1000.0, 500.0, 200.0, 5000.0]})
    return demand, supply, cost


def test_two_sfca_by_hand():
    demand, supply, cost = hand_example()
    a = two_sfca(demand, supply, cost, max_cost=600)
    # R_X = 2 / (100 + 300), R_Y = 1 / 300
    assert a.to_dict() == {"A": pytest.approx(2 / 400), "B": pytest.approx(2 / 400 + 1 / 300),
                           "C": 0.0}
    assert a.index.tolist() == ["A", "B", "C"] and a.name == "2sfca"


def test_e2sfca_by_hand_gaussian_and_zones():
    demand, supply, cost = hand_example()
    g = decay.gaussian(800)
    a = e2sfca(demand, supply, cost, g, max_cost=1200)
    rx = 2 / (100 * g(0.0) + 300 * g(500.0))
    ry = 1 / (100 * g(1000.0) + 300 * g(200.0))
    assert a["A"] == pytest.approx(rx + ry * g(1000.0))
    assert a["B"] == pytest.approx(rx * g(500.0) + ry * g(200.0))
    assert a["C"] == 0.0
    z = e2sfca(demand, supply, cost, decay.zones([300, 600, 1200]), max_cost=1200)
    rx, ry = 2 / (100 + 300 * 0.68), 1 / (100 * 0.22 + 300)
    assert z.to_dict() == {"A": pytest.approx(rx + 0.22 * ry),
                           "B": pytest.approx(0.68 * rx + ry), "C": 0.0}


def test_supply_is_conserved():
    """With every demand location in reach of every supply (step weights), total
    population-weighted access equals total supply."""
    demand, supply, cost = hand_example()
    a = two_sfca(demand, supply, cost, max_cost=10_000)
    assert (a * demand).sum() == pytest.approx(supply.sum())


def test_undefined_where_only_zero_population_reaches_supply():
    demand = pd.Series({"A": 0.0, "B": 10.0})
    supply = pd.Series({"X": 1.0, "Y": 1.0})
    cost = pd.DataFrame({"demand": ["A", "B"], "supply": ["X", "Y"], "cost": [10.0, 10.0]})
    a = two_sfca(demand, supply, cost, 100)
    assert np.isnan(a["A"]) and a["B"] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        two_sfca(demand.replace(0.0, np.nan), supply, cost, 100)


def test_custom_column_names_and_unknown_rows_ignored():
    demand, supply, cost = hand_example()
    renamed = cost.rename(columns={"demand": "target", "supply": "source"})
    extra = pd.concat([renamed, pd.DataFrame({"target": ["Z"], "source": ["X"], "cost": [0.0]})])
    a = two_sfca(demand, supply, extra, 600, demand_col="target", supply_col="source")
    pd.testing.assert_series_equal(a, two_sfca(demand, supply, cost, 600))


def reference_e2sfca(demand, supply, cost, weight, max_cost):
    """Plain loops over the formula, for comparison."""
    rows = [(r.demand, r.supply, weight(r.cost)) for r in cost.itertuples() if r.cost <= max_cost]
    ratio = {}
    for j, s in supply.items():
        d = sum(demand[i] * w for i, jj, w in rows if jj == j)
        ratio[j] = s / d if d > 0 else np.nan
    return pd.Series({i: sum(ratio[j] * w for ii, j, w in rows if ii == i and w > 0)
                      for i in demand.index})


def pysal_e2sfca(demand, supply, cost, weight_fn, max_cost):
    dem = demand.rename("pop").rename_axis("geoid").reset_index()
    sup = supply.rename("cap").rename_axis("geoid").reset_index()
    cdf = cost.rename(columns={"demand": "origin", "supply": "dest"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = Access(demand_df=dem, demand_index="geoid", demand_value="pop",
                     supply_df=sup, supply_index="geoid", supply_value="cap",
                     cost_df=cdf, cost_origin="origin", cost_dest="dest", cost_name="cost")
        out = acc.enhanced_two_stage_fca(weight_fn=weight_fn, max_cost=max_cost)
    return out["e2sfca_cap"].reindex(demand.index)


def test_matches_reference_and_pysal_on_random_synthetic_tables():
    """Seeded random synthetic locations (40 demand, 12 supply), Euclidean costs."""
    rng = np.random.default_rng(3)
    dxy, sxy = rng.uniform(0, 5000, (40, 2)), rng.uniform(0, 5000, (12, 2))
    demand = pd.Series(rng.integers(50, 2000, 40).astype(float),
                       index=[f"d{i}" for i in range(40)])
    supply = pd.Series(rng.integers(1, 5, 12).astype(float), index=[f"s{j}" for j in range(12)])
    dist = np.hypot(*(dxy[:, None, :] - sxy[None, :, :]).transpose(2, 0, 1))
    cost = pd.DataFrame({"demand": np.repeat(demand.index, 12),
                         "supply": np.tile(supply.index, 40), "cost": dist.ravel()})
    for ours, theirs, max_cost in [
        (decay.gaussian(800), pysal_weights.gaussian(800), 1600),
        (decay.zones([500, 1000, 1500]), pysal_weights.step_fn({500: 1, 1000: 0.68, 1500: 0.22}),
         1500),
        (decay.step(1200), pysal_weights.step_fn({1200: 1}), 1200),
    ]:
        a = e2sfca(demand, supply, cost, ours, max_cost)
        ref = reference_e2sfca(demand, supply, cost, ours, max_cost)
        np.testing.assert_allclose(a, ref, rtol=1e-12)
        pys = pysal_e2sfca(demand, supply, cost, theirs, max_cost)
        # PySAL leaves out demand locations with no supply in reach; here they are 0
        reached = pys.notna()
        assert reached.sum() > 10
        np.testing.assert_allclose(a[reached], pys[reached], rtol=1e-12)
        assert (a[~reached] == 0).all()


@pytest.mark.slow
@needs_shared
def test_matches_pysal_on_isle_of_wight_pharmacies():
    """Real-ish: the 89 Isle of Wight LSOAs (population-weighted points are not available,
    so polygon centroids) with their real mid-2022 population (IoD2025 File 7), the real
    OSM pharmacies of the island (capacity 1 each) and real network distances."""
    import geopandas as gpd

    pbf = pytest.importorskip("geo.pbf")
    from risk.engine import distances_within
    from risk.snap import snap_geometries, snap_points

    lsoa = gpd.read_file(IOW_LSOA).to_crs("EPSG:27700")
    f7 = pd.read_csv(IOW_FILE7).set_index("LSOA code (2021)")["Total population: mid 2022"]
    demand = f7.reindex(lsoa.lsoa11_code).astype(float)
    assert demand.notna().all()
    amen = pbf.amenities_from_pbf(IOW_PBF)
    pharm = amen[amen.category == "pharmacy"].to_crs("EPSG:27700").reset_index(drop=True)
    assert len(pharm) > 10
    net = pbf.network_from_pbf(IOW_PBF, "EPSG:27700")
    cent = lsoa.geometry.centroid
    origins = snap_points(net, cent.x.to_numpy(), cent.y.to_numpy(), 250)
    sources = snap_geometries(net, pharm.geometry.to_numpy(), 250)
    table = distances_within(net, sources, origins, cutoff=3000)
    cost = pd.DataFrame({"demand": lsoa.lsoa11_code.to_numpy()[table.target],
                         "supply": table.source.to_numpy(), "cost": table.cost.to_numpy()})
    supply = pd.Series(1.0, index=pd.RangeIndex(len(pharm)))
    demand.index = lsoa.lsoa11_code.to_numpy()
    a = e2sfca(demand, supply, cost, decay.gaussian(800), 3000)
    pys = pysal_e2sfca(demand, supply, cost, pysal_weights.gaussian(800), 3000)
    reached = pys.notna()
    assert reached.sum() >= 20
    np.testing.assert_allclose(a[reached], pys[reached], rtol=1e-12)
    assert (a[~reached] == 0).all()
    ref = reference_e2sfca(demand, supply, cost, decay.gaussian(800), 3000)
    np.testing.assert_allclose(a, ref, rtol=1e-12)
