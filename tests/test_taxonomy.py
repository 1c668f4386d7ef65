"""The amenity taxonomy: loading, validation, matching and the shared amenity table."""

from __future__ import annotations

import math

import pytest
import shapely

from geo.taxonomy import (
    AMENITY_COLUMNS,
    AMENITY_DTYPES,
    amenities_frame,
    default_taxonomy_path,
    load_taxonomy,
    match_categories,
    match_details,
    parse_number,
    taxonomy_keys,
)
from socialrisk.core.errors import ConfigError
from socialrisk.settings import Settings

REQUIRED = ["community_centre", "library", "place_of_worship", "green_space", "gp", "pharmacy",
            "post_office", "transit_stop", "cafe_pub", "food_shop", "primary_school",
            "social_care", "leisure_centre"]


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def write(tmp_path, text):
    p = tmp_path / "taxonomy.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_taxonomy(tax):
    assert default_taxonomy_path().is_file()
    assert list(tax) == REQUIRED
    assert load_taxonomy(default_taxonomy_path()) == tax
    assert {n for n, c in tax.items() if c.access == "edge"} == {"green_space"}
    assert tax["gp"].label == "GP surgery"
    assert tax["social_care"].capacity == ("capacity", "beds")
    assert tax["library"].capacity == ()
    # every access indicator of the default index has a category
    access = Settings().domains["access"].indicators
    assert {i.column.removesuffix("_nearest_m") for i in access} <= set(tax)
    assert taxonomy_keys(tax) == {"amenity", "leisure", "landuse", "healthcare", "post_office",
                                  "highway", "public_transport", "railway", "shop"}


@pytest.mark.parametrize("tags, expected", [
    ({"amenity": "community_centre", "community_centre": "village_hall"}, ["community_centre"]),
    ({"amenity": "community_centre", "access": "private"}, []),
    ({"amenity": "social_centre"}, ["community_centre"]),   # not also social_care
    ({"amenity": "library"}, ["library"]),
    ({"amenity": "public_bookcase"}, []),
    ({"leisure": "park"}, ["green_space"]),
    ({"landuse": "village_green"}, ["green_space"]),
    ({"leisure": "garden"}, []),                                        # back garden
    ({"leisure": "garden", "name": "Town Gardens"}, ["green_space"]),
    ({"leisure": "garden", "name": "Manor", "access": "private"}, []),
    ({"leisure": "garden", "name": "No 4", "garden:type": "residential"}, []),
    ({"leisure": "garden", "access": "public"}, ["green_space"]),
    ({"leisure": "garden", "garden:type": "community"}, ["green_space"]),
    ({"leisure": "nature_reserve"}, []),
    ({"healthcare": "doctor"}, ["gp"]),
    ({"amenity": "pharmacy", "dispensing": "no"}, []),
    ({"shop": "chemist"}, []),
    ({"shop": "chemist", "amenity": "pharmacy"}, ["pharmacy"]),
    ({"amenity": "post_box"}, []),
    ({"shop": "convenience", "post_office": "post_partner"}, ["post_office", "food_shop"]),
    ({"public_transport": "platform"}, []),                             # bus=yes required
    ({"public_transport": "platform", "bus": "yes"}, ["transit_stop"]),
    ({"railway": "halt"}, ["transit_stop"]),
    ({"amenity": "restaurant;pub"}, ["cafe_pub"]),                      # ; multi-value
    ({"amenity": "restaurant"}, []),
    ({"amenity": "school"}, []),
    ({"amenity": "school", "school": "infant"}, ["primary_school"]),
    ({"amenity": "school", "isced:level": "1"}, ["primary_school"]),
    ({"amenity": "school", "isced:level": "1-2"}, ["primary_school"]),
    ({"amenity": "school", "isced:level": "2;3"}, []),
    ({"amenity": "school", "isced:level": "10"}, []),
    ({"amenity": "school", "name": "St Mary's Catholic Primary School"}, ["primary_school"]),
    ({"amenity": "school", "name": "Ryde Junior School"}, ["primary_school"]),
    ({"amenity": "school", "name": "Hill First School"}, ["primary_school"]),
    ({"amenity": "school", "name": "Medina College"}, []),
    ({"amenity": "kindergarten", "name": "Little Primary Nursery"}, []),
    ({"amenity": "nursing_home"}, ["social_care"]),
    ({"leisure": "swimming_pool"}, []),
    ({"leisure": "swimming_pool", "access": "customers"}, ["leisure_centre"]),
    ({"leisure": "sports_centre", "access": "private"}, []),
    ({"name": "Primary School"}, []),
])
def test_match_categories(tax, tags, expected):
    assert match_categories(tags, tax) == expected


def test_match_ignores_non_string_values(tax):
    # tables from osmnx carry NaN for absent tags
    assert match_categories({"amenity": "library", "access": math.nan}, tax) == ["library"]
    assert match_categories({"amenity": math.nan, "leisure": None}, tax) == []


def test_match_details_main_tag(tax):
    tags = {"highway": "bus_stop", "public_transport": "platform", "bus": "yes",
            "amenity": "cafe"}
    assert match_details(tags, tax) == [("transit_stop", "highway=bus_stop"),
                                        ("cafe_pub", "amenity=cafe")]


def test_parse_number():
    assert parse_number("40") == 40.0
    assert parse_number(" 12.5 ") == 12.5
    for bad in [None, "", "about 40", "30;40", "nan", "inf", "-3", math.nan]:
        assert math.isnan(parse_number(bad)), bad


def test_amenities_frame(tax):
    records = [
        ("way", 7, {"leisure": "park", "name": "Park"}, shapely.box(0, 0, 1, 1)),
        ("node", 9, {"amenity": "cafe", "shop": "convenience", "opening_hours": "24/7"},
         shapely.Point(1, 2)),
        ("node", 3, {"amenity": "bench"}, shapely.Point(0, 0)),
        ("node", 2, {"amenity": "community_centre", "capacity": "80"}, shapely.Point(3, 4)),
    ]
    df = amenities_frame(records, tax)
    assert tuple(df.columns) == AMENITY_COLUMNS
    assert df.crs == "EPSG:4326"
    assert {c: str(df[c].dtype) for c in AMENITY_DTYPES} == AMENITY_DTYPES
    assert list(zip(df.category, df.osm_id, df.amenity_type, strict=True)) == [
        ("community_centre", 2, "amenity=community_centre"),
        ("green_space", 7, "leisure=park"),
        ("cafe_pub", 9, "amenity=cafe"),
        ("food_shop", 9, "shop=convenience"),
    ]
    assert df.capacity.iloc[0] == 80.0
    assert df.opening_hours.tolist() == [None, None, "24/7", "24/7"]
    assert df.geometry.iloc[1].equals(shapely.box(0, 0, 1, 1))
    empty = amenities_frame([], tax)
    assert tuple(empty.columns) == AMENITY_COLUMNS and len(empty) == 0
    assert {c: str(empty[c].dtype) for c in AMENITY_DTYPES} == AMENITY_DTYPES
    assert empty.crs == "EPSG:4326"


def test_custom_taxonomy_features(tmp_path):
    p = write(tmp_path, """
[halls]
label = "Halls"
capacity = ["seats", "capacity"]
not = { access = "private" }
filters = [
    { building = ["village_hall", "civic"], name_regex = "hall$" },
    { amenity = "*", regex = { "hall:type" = "^(parish|village)$" } },
]
""")
    tax = load_taxonomy(p)
    hall = tax["halls"]
    assert hall.access == "point" and hall.capacity == ("seats", "capacity")
    assert match_categories({"building": "civic", "name": "Town HALL"}, tax) == ["halls"]
    assert match_categories({"building": "civic", "name": "Hall Lane"}, tax) == []
    assert match_categories({"building": "civic", "name": "Town Hall", "access": "private"},
                            tax) == []
    assert match_details({"amenity": "x", "hall:type": "Parish"}, tax) == [("halls", "amenity=x")]
    rows = amenities_frame([("node", 1, {"building": "civic", "name": "Hall", "seats": "x",
                                         "capacity": "55"}, shapely.Point(0, 0))], tax)
    assert rows.capacity.tolist() == [55.0]


@pytest.mark.parametrize("text, message", [
    ('[a]\nlable = "A"\nfilters = [{amenity = "x"}]', "unknown key 'lable'.*did you mean 'label'"),
    ('[a]\nlabel = "A"\nfilter = [{amenity = "x"}]',
     "unknown key 'filter'.*did you mean 'filters'"),
    ('[a]\nlabel = "A"\nacess = "edge"\nfilters = [{amenity = "x"}]', "did you mean 'access'"),
    ('[a]\nlabel = "A"\nfilters = [{amenity = "x", nto = {access = "no"}}]',
     "unknown key 'nto'.*did you mean 'not'"),
    ('[a]\nlabel = "A"\nfilters = [{amenity = "x", name_regx = "y"}]',
     "unknown key 'name_regx'.*did you mean 'name_regex'"),
    ('[a]\nlabel = "A"\nfilters = []', "needs a non-empty filters"),
    ('[a]\nlabel = "A"', "needs a non-empty filters"),
    ('[a]\nfilters = [{amenity = "x"}]', "needs label"),
    ('[a]\nlabel = "A"\nfilters = [{amenity = 3}]', "amenity = 3 must be a string"),
    ('[a]\nlabel = "A"\nfilters = [{amenity = []}]', "must be a string, a non-empty list"),
    ('[a]\nlabel = "A"\nfilters = ["amenity=x"]', "filter 1 must be a table"),
    ('[a]\nlabel = "A"\nfilters = [{name_regex = "x"}]', "at least one plain tag condition"),
    ('[a]\nlabel = "A"\nfilters = [{amenity = "x", name_regex = "("}]',
     "invalid regular expression"),
    ('[a]\nlabel = "A"\naccess = "centroid"\nfilters = [{amenity = "x"}]',
     "access must be \"point\" or \"edge\""),
    ('[a]\nlabel = "A"\ncapacity = 3\nfilters = [{amenity = "x"}]', "capacity must be"),
    ('[a]\nlabel = "A"\nnot = "private"\nfilters = [{amenity = "x"}]', "not must be a table"),
    ('["Green Space"]\nlabel = "A"\nfilters = [{amenity = "x"}]', "lower-case letters"),
    ('a = 1', r"taxonomy category \[a\] must be a table"),
    ('', "no categories"),
    ('[a\nlabel = ', "not valid TOML"),
])
def test_validation(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_taxonomy(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_taxonomy(tmp_path / "nope.toml")
