"""socialrisk: social infrastructure access and isolation risk for small areas.

    import socialrisk as sr
    res = sr.run(file7_download=False)              # the embedded Isle of Wight
    res.areas.sort_values("isolation_risk", ascending=False).head()

The public functions are documented in :mod:`socialrisk.api` and ``docs/api.md``.
They are imported on first use (PEP 562): ``geo`` and ``risk`` import
``socialrisk.core``, which runs this file first, so nothing is imported here
eagerly, and ``import socialrisk`` alone stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # socialrisk.api: the functions
    "run", "prepare", "compute", "load", "open_run", "run_and_write", "read_areas", "access",
    "isolation_index", "screen_site", "add_facility", "remove_facility",
    # settings, results and errors
    "Settings", "DeprivationSource", "load_settings", "DomainSpec", "IndicatorSpec",
    "Prepared", "RunResult", "SiteScreening", "ScenarioResult",
    "SocialRiskError", "InputError", "ConfigError", "DownloadError",
]

#: public name -> the module it is taken from when first used
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(__all__[1:13], "socialrisk.api"),
    **dict.fromkeys(("Settings", "DeprivationSource", "load_settings"), "socialrisk.settings"),
    **dict.fromkeys(("DomainSpec", "IndicatorSpec"), "risk.index"),
    **dict.fromkeys(("Prepared", "RunResult"), "socialrisk.stages"),
    "SiteScreening": "socialrisk.screening",
    "ScenarioResult": "socialrisk.scenarios",
    **dict.fromkeys(("SocialRiskError", "InputError", "ConfigError", "DownloadError"),
                    "socialrisk.core.errors"),
}

# For type checkers and editors only; never run (the lazy __getattr__ below imports at
# first use, so that geo and risk can import socialrisk.core without a cycle).
# tests/test_api.py checks that this block names exactly the lazy exports.
if TYPE_CHECKING:
    from risk.index import DomainSpec, IndicatorSpec
    from socialrisk.api import (
        access,
        add_facility,
        compute,
        isolation_index,
        load,
        open_run,
        prepare,
        read_areas,
        remove_facility,
        run,
        run_and_write,
        screen_site,
    )
    from socialrisk.core.errors import ConfigError, DownloadError, InputError, SocialRiskError
    from socialrisk.scenarios import ScenarioResult
    from socialrisk.screening import SiteScreening
    from socialrisk.settings import DeprivationSource, Settings, load_settings
    from socialrisk.stages import Prepared, RunResult


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'socialrisk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time without this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
