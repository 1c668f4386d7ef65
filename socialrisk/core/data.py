"""Where the files shipped with socialrisk are: the embedded sample, the taxonomy, Leaflet.

In a checkout they are the repository's ``data/`` folder; an installed
socialrisk carries the same folder as ``socialrisk_data`` beside the
``socialrisk`` package (see ``pyproject.toml``). It is found by path, never
imported.
"""

from __future__ import annotations

from pathlib import Path

#: the embedded Isle of Wight sample (see ``data/isle_of_wight/PROVENANCE.md``)
EMBEDDED_OSM = "isle_of_wight/isle-of-wight-2020-04-22.osm.pbf"
EMBEDDED_AREAS = "isle_of_wight/lsoa11_isle_of_wight.geojson"
EMBEDDED_AREA_ID = "lsoa11_code"
TAXONOMY = "taxonomy.toml"


def data_dir() -> Path:
    """The folder of shipped data files.

    Raises
    ------
    FileNotFoundError
        When neither the checkout's ``data/`` nor the installed ``socialrisk_data/``
        holds the taxonomy (a broken install: reinstall socialrisk).
    """
    root = Path(__file__).resolve().parents[2]
    for candidate in (root / "data", root / "socialrisk_data"):
        if (candidate / TAXONOMY).is_file():
            return candidate
    raise FileNotFoundError(f"socialrisk's data folder is missing (looked in {root / 'data'} "
                            f"and {root / 'socialrisk_data'}); reinstall socialrisk")


def embedded_file(name: str) -> Path:
    """Path of a shipped file, e.g. ``embedded_file(EMBEDDED_OSM)``."""
    return data_dir() / name
