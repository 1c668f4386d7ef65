"""Census 2021 TS011 household deprivation: the real long table and its other published layouts.

The wide (ONS bulk) and ONS custom-dataset layouts are the real Isle of Wight
rows re-written into ``tmp_path`` under those layouts' headers; expected values
are computed here from the original CSV rows with the ``csv`` module.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
from conftest import ENGLAND, IOW_FILE7, IOW_LSOA, needs_shared

from geo.census import TS011_COLUMNS, dimensions_of_label, is_ts011, read_ts011
from geo.tables import load_area_data
from socialrisk.core.errors import InputError
from socialrisk.settings import DeprivationSource

pytestmark = needs_shared

TS011 = ENGLAND / "census21_ts011_household_deprivation_lsoa21.csv"
LABELS = ["Household is not deprived in any dimension", "Household is deprived in one dimension",
          "Household is deprived in two dimensions", "Household is deprived in three dimensions",
          "Household is deprived in four dimensions"]


@pytest.fixture(scope="module")
def iow_ids() -> list[str]:
    features = json.loads(IOW_LSOA.read_text(encoding="utf-8"))["features"]
    return [f["properties"]["lsoa11_code"] for f in features]


@pytest.fixture(scope="module")
def counts(iow_ids) -> dict[str, dict[int, int]]:
    """Households per deprivation dimension for the 89 island LSOAs, from the raw CSV."""
    wanted = set(iow_ids)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    with TS011.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["lsoa21_code"] in wanted:
                out[row["lsoa21_code"]][int(row["households_number_deprivation_dimensions"])] = \
                    int(row["count"])
    return dict(out)


@pytest.fixture(scope="module")
def ts011():
    return read_ts011(TS011)


def _expected(c: dict[int, int]) -> dict[str, float]:
    total = sum(c.values())
    return {"hh_total": total, **{f"hh_deprived_{k}": c[k] for k in range(5)},
            "hh_deprived_1plus_share": (c[1] + c[2] + c[3] + c[4]) / total,
            "hh_deprived_2plus_share": (c[2] + c[3] + c[4]) / total}


def test_read_ts011_long(ts011, counts):
    assert len(ts011) == 35_672 and ts011.index.is_unique
    assert list(ts011.columns) == TS011_COLUMNS
    assert ts011.attrs["layout"] == "long" and ts011.attrs["code_column"] == "lsoa21_code"
    assert ts011.attrs["n_rows"] == 178_360
    row = ts011.loc["E01017282"]
    exp = _expected(counts["E01017282"])
    for col, value in exp.items():
        assert row[col] == pytest.approx(value), col
    assert row["hh_total"] == 592 and row["hh_deprived_2plus_share"] == pytest.approx(111 / 592)
    assert ts011["hh_deprived_2plus_share"].between(0, 1).all()


def test_ts011_joined_to_iow(iow_ids, counts):
    out, (report,) = load_area_data([DeprivationSource(str(TS011))], iow_ids)
    assert report.kind == "ts011" and report.code_column == "lsoa21_code"
    assert (report.n_matched, report.n_areas_without_data) == (89, 0)
    assert report.n_unmatched_table_codes == 35_672 - 89
    assert report.n_rows == 178_360
    for code in iow_ids:
        exp = _expected(counts[code])
        assert out.loc[code, "hh_total"] == exp["hh_total"]
        assert out.loc[code, "hh_deprived_2plus_share"] == pytest.approx(
            exp["hh_deprived_2plus_share"])


def _names() -> dict[str, str]:
    with IOW_FILE7.open(newline="", encoding="utf-8") as fh:
        return {r["LSOA code (2021)"]: r["LSOA name (2021)"] for r in csv.DictReader(fh)}


def test_read_ts011_ons_bulk_wide(tmp_path, counts):
    names = _names()
    header = ["date", "geography", "geography code",
              "Household deprivation: Total: All households; measures: Value",
              *[f"Household deprivation: {label}; measures: Value" for label in LABELS]]
    path = tmp_path / "census2021-ts011-lsoa.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for code, c in counts.items():
            w.writerow([2021, names[code], code, sum(c.values()), *[c[k] for k in range(5)]])
    assert is_ts011(path)
    df = read_ts011(path)
    assert df.attrs["layout"] == "wide" and df.attrs["code_column"] == "geography code"
    assert len(df) == 89
    for code, c in counts.items():
        for col, value in _expected(c).items():
            assert df.loc[code, col] == pytest.approx(value)


def test_read_ts011_ons_custom_long(tmp_path, counts):
    """ONS 'create a custom dataset' layout: category codes -8 and 1-5 with labels."""
    names = _names()
    path = tmp_path / "TS011-2021-6-filtered.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Lower layer Super Output Areas Code", "Lower layer Super Output Areas",
                    "Household deprivation (6 categories) Code",
                    "Household deprivation (6 categories)", "Observation"])
        for code, c in counts.items():
            w.writerow([code, names[code], -8, "Does not apply", 0])
            for k in range(5):
                w.writerow([code, names[code], k + 1, LABELS[k], c[k]])
    assert is_ts011(path)
    df = read_ts011(path)
    assert len(df) == 89
    for code, c in counts.items():
        for col, value in _expected(c).items():
            assert df.loc[code, col] == pytest.approx(value)


def test_read_ts011_custom_long_codes_only(tmp_path, counts):
    """Without the label column the ONS category codes 1-5 mean 0-4 dimensions."""
    path = tmp_path / "codes_only.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Lower layer Super Output Areas Code",
                    "Household deprivation (6 categories) Code", "Observation"])
        for code, c in counts.items():
            for k in range(5):
                w.writerow([code, k + 1, c[k]])
    df = read_ts011(path)
    code = "E01017282"
    assert df.loc[code, "hh_deprived_0"] == counts[code][0]
    assert df.loc[code, "hh_deprived_4"] == counts[code][4]


def test_dimensions_of_label():
    assert [dimensions_of_label(label) for label in LABELS] == [0, 1, 2, 3, 4]
    assert dimensions_of_label("Does not apply") is None
    assert dimensions_of_label("Total: All households") == "total"


def test_is_ts011_other_tables():
    assert is_ts011(TS011)
    assert not is_ts011(IOW_FILE7)
    assert not is_ts011(ENGLAND / "imd2025_lsoa21.csv")


def test_read_ts011_repeated_rows_refused(tmp_path):
    lines = TS011.read_text(encoding="utf-8").splitlines()[:11]
    path = tmp_path / "repeated.csv"
    path.write_text("\n".join(lines + lines[1:6]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_ts011(path)
    msg = str(exc.value)
    assert "repeated.csv" in msg and lines[1].split(",")[0] in msg and "one row per area" in msg


def test_read_ts011_not_ts011():
    with pytest.raises(InputError, match="is not Census 2021 TS011"):
        read_ts011(ENGLAND / "imd2025_lsoa21.csv")
