"""The data dictionary's entries: fixed column names, name patterns and where values come from.

Read through :mod:`socialrisk.columns` (:func:`~socialrisk.columns.column_info`).
"""

from __future__ import annotations

from dataclasses import dataclass

from socialrisk.core import schema

OSM = "OpenStreetMap (walking network and places), (c) OpenStreetMap contributors, ODbL"
IOD = "Indices of Deprivation (MHCLG File 7 or an IMD table; WIMD in Wales), --deprivation"
IOD_IND = "IoD2025 underlying indicators (MHCLG), --deprivation"
CENSUS = "Census 2021 (ONS), --deprivation"
COMPUTED = "computed by socialrisk"
AREAS = "the areas file (boundaries) and the deprivation table"

#: how ``areas.csv`` rounds each kind of column (the GeoPackage keeps full precision)
ROUNDING: dict[str, str] = {
    "metres": "to the metre",
    "minutes": "to 0.1 minute",
    "share": "to 0.001 (a tenth of a percentage point)",
    "score": "to 0.01",
    "count": "to 0.01 (averages of counts)",
    "index": "to 4 significant digits",
    "whole": "whole numbers",
    "published": "as published (not rounded)",
    "text": "not changed",
}


@dataclass(frozen=True)
class ColumnInfo:
    """One entry of the data dictionary.

    ``kind`` is a key of :data:`ROUNDING` (how ``areas.csv`` rounds it).
    """

    label: str
    unit: str
    meaning: str
    method: str
    source: str
    kind: str

    @property
    def description(self) -> str:
        """Meaning and method in one text."""
        return f"{self.meaning} {self.method}".strip()


def c(label, unit, meaning, method, source, kind) -> ColumnInfo:
    return ColumnInfo(label, unit, meaning, method, source, kind)


WEIGHTED = ("the population-weighted mean over the area's homes (residential buildings, "
             "weighted by their share of the population; the area's centroid when it has "
             "none), measured along streets and paths.")
_SPEED = f"{schema.WALK_SPEED_KMH:g} km/h"
_SLOW = f"{schema.SLOW_WALK_SPEED_KMH:g} km/h"

# ---------------------------------------------------------------- fixed names
AREA_FIXED: dict[str, ColumnInfo] = {
    schema.AREA_ID: c("Area code", "", "The small area's code (LSOA 2021 in England).", "",
                       AREAS, "text"),
    schema.AREA_NAME: c("Area name", "", "The small area's name.", "", AREAS, "text"),
    schema.POPULATION: c("Residents", "people", "Total residents of the area.",
                          "Mid-year estimate of the deprivation table (File 7: mid-2022), or "
                          "the population column of the areas file.", AREAS, "whole"),
    "n_origins": c("Homes measured from", "points", "Number of home points (origins) in the "
                    "area that access is measured from.", "", COMPUTED, "whole"),
    "origin_weight": c("Population weight of the homes", "people", "Sum of the population "
                        "weights of the area's home points (equals the population when it "
                        "is known).", "", COMPUTED, "count"),
    "lsoa_name": c("LSOA name (deprivation table)", "", "The area's name in the deprivation "
                    "table.", "", IOD, "text"),
    "lad_code": c("Local authority code", "", "Code of the local authority district.", "",
                   IOD, "text"),
    "lad_name": c("Local authority", "", "Name of the local authority district.", "", IOD,
                   "text"),
    "ward_code": c("Ward code", "", "Electoral ward (2024) the area lies in.", "",
                    "ONS LSOA 2021 -> ward 2024 lookup (--lsoa-lookup)", "text"),
    "ward_name": c("Ward", "", "Name of the electoral ward (2024).", "",
                    "ONS LSOA 2021 -> ward 2024 lookup (--lsoa-lookup)", "text"),
    "district_code": c("District code", "", "Local authority district (2024) code.", "",
                        "ONS LSOA 2021 -> ward 2024 lookup (--lsoa-lookup)", "text"),
    "district_name": c("District", "", "Local authority district (2024).", "",
                        "ONS LSOA 2021 -> ward 2024 lookup (--lsoa-lookup)", "text"),
    "pop_0_15": c("Children aged 0-15", "people", "Dependent children aged 0-15.",
                   "Mid-year estimate.", IOD, "whole"),
    "pop_60_plus": c("Residents aged 60+", "people", "Older population aged 60 and over.",
                      "Mid-year estimate.", IOD, "whole"),
    "pop_18_66": c("Working-age residents (18-66)", "people", "Working-age population used "
                    "by the IoD2025 employment domain.", "Mid-year estimate.", IOD, "whole"),
    "pop_16_59": c("Residents aged 16-59", "people", "Population aged 16-59 (IoD2019).", "",
                    IOD, "whole"),
    "pop_18_59_64": c("Working-age residents (18-59/64)", "people", "Working-age population "
                       "of the IoD2019 employment domain.", "", IOD, "whole"),
    "pop_working_age": c("Working-age residents", "people", "Working-age population.", "",
                          IOD, "whole"),
    "share_60_plus": c("Share aged 60+", "share (0-1)", "Share of residents aged 60 and "
                        "over.", "pop_60_plus / population.", IOD, "share"),
    "share_0_15": c("Share aged 0-15", "share (0-1)", "Share of residents aged 0-15.",
                     "pop_0_15 / population.", IOD, "share"),
    "hh_total": c("Households (TS011)", "households", "All households.", "", CENSUS,
                   "whole"),
    "hh_deprived_1plus_share": c("Households deprived in 1+ dimensions", "share (0-1)",
                                  "Share of households deprived in at least one of four "
                                  "dimensions (employment, education, health and "
                                  "disability, housing).", "", CENSUS, "share"),
    "hh_deprived_2plus_share": c("Households deprived in 2+ dimensions", "share (0-1)",
                                  "Share of households deprived in two or more of the four "
                                  "dimensions.", "", CENSUS, "share"),
    "census_residents": c("Usual residents (TS038)", "people", "All usual residents.", "",
                           CENSUS, "whole"),
    "disabled_share": c("Disabled residents", "share (0-1)", "Share of residents disabled "
                         "under the Equality Act.", "", CENSUS, "share"),
    "households": c("Households (TS054)", "households", "All households.", "", CENSUS,
                     "whole"),
    "owned_share": c("Owner-occupied households", "share (0-1)", "Share of households that "
                      "own outright or with a mortgage or loan.", "", CENSUS, "share"),
    "shared_ownership_share": c("Shared-ownership households", "share (0-1)", "Share of "
                                 "households in shared ownership.", "", CENSUS, "share"),
    "social_rented_share": c("Social renters", "share (0-1)", "Share of households renting "
                              "from a council or other social landlord.", "", CENSUS, "share"),
    "private_rented_share": c("Private renters", "share (0-1)", "Share of households renting "
                               "privately.", "", CENSUS, "share"),
    "rented_share": c("Renting households", "share (0-1)", "Share of households renting "
                       "(social or private).", "Social + private rented.", CENSUS, "share"),
    "rent_free_share": c("Households living rent free", "share (0-1)", "Share of households "
                          "living rent free.", "", CENSUS, "share"),
    "english_proficiency": c("Adults with low skills or English", "share (0-1)",
                              "IoD2025 adult skills and English language proficiency "
                              "indicator (copy under a short name).", "", IOD_IND, "published"),
    "illness_disability_ratio": c("Comparative illness and disability ratio", "ratio "
                                   "(100 = as expected)", "IoD2025 indicator: people on "
                                   "illness or disability benefits per 100 expected.", "",
                                   IOD_IND, "published"),
    "mental_health": c("Mental health indicator", "z-score (higher = worse)", "IoD2025 "
                        "mental health indicator (prescribing, admissions, suicides).", "",
                        IOD_IND, "published"),
    "broadband": c("Slow broadband indicator", "z-score (higher = slower)", "IoD2025 "
                    "digital connectivity indicator (download and upload speeds).", "",
                    IOD_IND, "published"),
    schema.STANDARDS_FAILED: c("Walking standards not met", "", "The walking-distance "
                               "standards the area fails, in words (data/standards.toml).",
                               "", COMPUTED, "text"),
    "patient_gp_ratio": c("Patients per GP", "patients", "IoD2025 indicator: registered "
                           "patients per GP.", "", IOD_IND, "published"),
}
for _i in range(5):
    AREA_FIXED[f"hh_deprived_{_i}"] = c(
        f"Households deprived in {_i} dimensions" if _i != 1 else
        "Households deprived in 1 dimension", "households",
        f"Households deprived in exactly {_i} of the four dimensions.", "", CENSUS, "whole")

#: the IoD (and WIMD) domains: tidy name -> (words, unit of the score)
IOD_DOMAINS: dict[str, tuple[str, str]] = {
    "imd": ("Index of Multiple Deprivation", "score (higher = more deprived)"),
    "wimd": ("Welsh Index of Multiple Deprivation", "score (higher = more deprived)"),
    "income": ("Income deprivation", "share of residents (0-1)"),
    "employment": ("Employment deprivation", "share of working-age residents (0-1)"),
    "education": ("Education, skills and training deprivation", "score"),
    "health": ("Health deprivation and disability", "score (higher = worse)"),
    "crime": ("Crime", "score (higher = worse)"),
    "housing": ("Barriers to housing and services", "score"),
    "environment": ("Living environment deprivation", "score"),
    "idaci": ("Income deprivation affecting children (IDACI)", "share of children (0-1)"),
    "idaopi": ("Income deprivation affecting older people (IDAOPI)",
               "share of people aged 60+ (0-1)"),
    "cyp": ("Children and young people sub-domain", "score"),
    "adult_skills": ("Adult skills sub-domain", "score"),
    "geographical_barriers": ("Geographical barriers sub-domain (road distance to services)",
                              "score"),
    "wider_barriers": ("Wider barriers sub-domain (housing)", "score"),
    "indoors": ("Indoors living environment sub-domain", "score"),
    "outdoors": ("Outdoors living environment sub-domain", "score"),
    "access_to_services": ("Access to services (WIMD)", "score"),
}
#: the index domains of the isolation score
INDEX_DOMAINS = {"access": "access to everyday places on foot",
                 "deprivation": "deprivation", "demographic": "the population's make-up"}

# ---------------------------------------------------------------- name patterns
# (pattern, kind, unit, label, meaning, method, source); {one} "a GP surgery",
# {kind} "GP surgery", {many} "GP surgeries", {d} the distance in metres
ACCESS_PATTERNS: list[tuple[str, str, str, str, str, str]] = [
    (rf"(?P<cat>.+)_wheelchair_{schema.NEAREST_SUFFIX}", "metres", "m",
     "Distance to the nearest wheelchair-accessible {kind}",
     "Walking distance to the nearest {kind} tagged as wheelchair accessible in OSM (the "
     "values the lens accepts).", "Area value: " + WEIGHTED + " Only with a lens that "
     "filters on the tag."),
    (rf"(?P<cat>.+)_{schema.NEAREST_SUFFIX}", "metres", "m",
     "Distance to the nearest {kind}", "Walking distance to the nearest {kind}.",
     "Area value: " + WEIGHTED + " Homes that cannot reach one are left out of the mean "
     "(see <category>_unreachable_share)."),
    (rf"(?P<cat>.+)_{schema.SLOW_SUFFIX}", "minutes", "min",
     "Walk to the nearest {kind} at a slow pace (min)",
     f"Walking time to the nearest {{kind}} at {_SLOW} (older and disabled people).",
     "Distance / speed; area value: " + WEIGHTED),
    (rf"(?P<cat>.+)_{schema.WALK_MIN_SUFFIX}", "minutes", "min",
     "Walk to the nearest {kind} (min)",
     f"Walking time to the nearest {{kind}} at {_SPEED}.",
     "Distance / speed; area value: " + WEIGHTED),
    (r"(?P<cat>.+)_count_(?P<d>\d+(?:\.\d+)?)m", "count", "places (average)",
     "Average number of {many} within {d} m",
     "How many {many} a resident has within {d} m on foot, on average: not a count of "
     "places in the area.", "Count per home, then " + WEIGHTED),
    (r"(?P<cat>.+)_share_beyond_(?P<d>\d+(?:\.\d+)?)m", "share", "share (0-1)",
     "Residents more than {d} m from {one}",
     "Share of residents whose nearest {kind} is more than {d} m away on foot.",
     "Population-weighted; homes that cannot reach one count as beyond."),
    (rf"(?P<cat>.+)_{schema.UNREACHABLE_SUFFIX}", "share", "share (0-1)",
     "Residents who cannot reach {one} on foot",
     f"Share of residents with no {{kind}} within {schema.MAX_DISTANCE_M / 1000:g} km "
     "on the walking network.", "Population-weighted."),
    (r"(?P<cat>.+)_gravity", "index", "index (decay-weighted places)",
     "Gravity access to {many}",
     "Number of {many} within reach, each weighted by a distance decay (a place next door "
     "counts 1, one 800 m away about 0.6).",
     f"Gaussian decay of scale {schema.DECAY_SCALE_M:g} m within "
     f"{schema.CATCHMENT_M:g} m (docs/method.md 4.4), then " + WEIGHTED),
    (r"(?P<cat>.+)_e2sfca", "index", "capacity per 1,000 people",
     "Provision of {many} per 1,000 people (E2SFCA)",
     "Capacity of the {many} in reach per 1,000 potential users, sharing each place "
     "among everyone who can reach it.",
     f"Enhanced two-step floating catchment area within {schema.CATCHMENT_M:g} m "
     "(docs/method.md 4.4), then " + WEIGHTED),
]

SCORE_PARTS: list[tuple[str, str, str, str, str]] = [
    # (suffix, kind, unit, label, meaning)
    ("_rank_p05", "whole", "rank", "{s}: best plausible rank (5th percentile)",
     "5th percentile of the area's rank over the Monte Carlo draws (--uncertainty)."),
    ("_rank_p95", "whole", "rank", "{s}: worst plausible rank (95th percentile)",
     "95th percentile of the area's rank over the Monte Carlo draws (--uncertainty)."),
    ("_p_top_decile", "share", "share of draws (0-1)", "{s}: chance of being in the top 10 %",
     "Share of the Monte Carlo draws (--uncertainty) that put the area in the highest-risk "
     "decile."),
    ("_robust", "text", "yes/no", "{s}: robustly at risk",
     "True when the area is in the highest-risk decile in at least 90 % of the draws."),
    ("_hotspot", "text", "", "{s}: hot or cold spot",
     "'hot spot' / 'cold spot' where high / low scores cluster with the neighbours' more "
     "than chance would (local Getis-Ord Gi*, queen contiguity, permutation test; "
     "--hotspots), else 'not significant'."),
    ("_drivers", "text", "", "{s}: what drives it",
     "Up to three indicators that raise the area's score most compared with the typical "
     "area, in words, each with its value and how it compares with the other areas."),
    ("_missing", "text", "", "{s}: indicators without a value",
     "Indicators the area has no value for (its score uses the others); empty when none."),
    ("_decile", "whole", "decile (1-10)", "{s}: decile (1 = highest risk)",
     "1 = the 10 % of areas with the highest score."),
    ("_rank", "whole", "rank", "{s}: rank (1 = highest risk)",
     "1 = the area with the highest score among the run's areas."),
]

AMENITY_COLUMNS: dict[str, ColumnInfo] = {
    "osm_type": c("OSM element type", "", "node, way or relation (empty for a place from an "
                   "asset list).", "", OSM, "text"),
    "osm_id": c("OSM id", "", "The element's id in OpenStreetMap.", "", OSM, "text"),
    "category": c("Kind of place", "", "The taxonomy category (e.g. gp, library).",
                   "Matched on OSM tags (data/taxonomy.toml).", COMPUTED, "text"),
    "name": c("Name", "", "Name of the place (OSM name tag or the asset list).", "", OSM,
               "text"),
    "amenity_type": c("OSM tag", "", "The tag that put it in its category "
                       "(e.g. amenity=library).", "", OSM, "text"),
    "opening_hours": c("Opening hours", "", "OSM opening_hours tag as written.", "", OSM,
                        "text"),
    "wheelchair": c("Wheelchair access (OSM)", "", "OSM wheelchair tag: yes, limited, no "
                     "or empty.", "", OSM, "text"),
    "website": c("Website", "", "OSM website tag.", "", OSM, "text"),
    "capacity": c("Capacity", "", "OSM capacity tag or the asset list's capacity, used by "
                   "E2SFCA.", "", OSM, "text"),
    schema.AMENITY_SOURCE: c("Where the place comes from", "", "'osm', or '<list file>:<row "
                              "id>' for a place from a local asset list.", "", COMPUTED,
                              "text"),
    "contact": c("Contact", "", "Contact given by a local asset list.", "",
                  "local asset list (docs/assets.md)", "text"),
    "accessibility": c("Accessibility", "", "Accessibility notes of a local asset list.", "",
                        "local asset list (docs/assets.md)", "text"),
    "snap_m": c("Distance to the walking network", "m", "Straight-line distance from the "
                 "place to the nearest street or path.", "", COMPUTED, "metres"),
    "snapped": c("On the walking network", "yes/no", f"False when the place is more than "
                  f"{schema.MAX_SNAP_M:g} m from any street or path and was not used.", "",
                  COMPUTED, "text"),
    "geometry": c("Location", "", "Point (or polygon in amenity_polygons), EPSG:4326.", "",
                   OSM, "text"),
}
