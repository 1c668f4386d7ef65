"""The ``socialrisk`` command line.

``socialrisk run`` computes access and isolation risk and writes the outputs;
with no input flags it runs on the embedded Isle of Wight default. Every flag
can also be set in a TOML config (``--config``); flags win. ``socialrisk app``
starts the Streamlit app installed with the package.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from geo.assets import check_asset_lists
from geo.lookup import check_lookup_header
from geo.taxonomy import load_taxonomy
from geo.uploads import MAX_UPLOAD_BYTES
from socialrisk import __version__, compare, history, validate
from socialrisk.briefing import terminal_summary
from socialrisk.core import schema
from socialrisk.core.errors import ConfigError, SocialRiskError, clipped, shown
from socialrisk.core.files import special_file
from socialrisk.pipeline import run_and_write
from socialrisk.settings import load_settings

log = logging.getLogger("socialrisk")


class _UsageError(Exception):
    """A command-line syntax error (unknown flag, bad value); printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with errors in the ``socialrisk: error: ...`` one-line format.

    argparse prints the usage and exits by itself; here the error is raised so
    that :func:`main` prints one line with the fix and returns 2, as for every
    other user error. Sub-command parsers are of this class too.
    """

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        raise _UsageError(f"{message}; see `{self.prog} --help` for the options")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="socialrisk",
        description="Map social infrastructure and the risk of social isolation by small area.")
    p.add_argument("--version", action="version", version=f"socialrisk {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="compute access and isolation risk and write the outputs",
                       description="With no input flags: the embedded Isle of Wight default.")
    r.add_argument("--config", help="TOML file with any of the settings below (flags win)")
    r.add_argument("--osm", help="OpenStreetMap extract (.osm.pbf)")
    r.add_argument("--areas", help="polygon layer (GeoPackage, GeoJSON, Shapefile, GeoParquet)")
    r.add_argument("--area-id", dest="area_id", help="id column in the areas layer")
    r.add_argument("--deprivation", action="append", metavar="CSV",
                   help="deprivation or census CSV keyed by area code (File 7, Census TS011 or "
                        "any table); repeat for several")
    r.add_argument("--assets", action="append", metavar="FILE[:CATEGORY]",
                   help="your own list of places (CSV with coordinates, GeoPackage, GeoJSON): "
                        "all of CATEGORY, or each row's `category` column; merged with OSM "
                        "(docs/assets.md); repeat for several")
    r.add_argument("--lsoa-lookup", dest="lsoa_lookup", metavar="CSV",
                   help="ONS LSOA 2011 -> 2021 lookup: converts tables keyed by 2011 codes "
                        "(e.g. WIMD 2019) to the 2021 areas")
    r.add_argument("--place", help="place name to download OSM data for (online)")
    r.add_argument("--lad", help="English local authority code (e.g. E06000046): downloads LSOA "
                                 "boundaries and OSM data (online)")
    r.add_argument("--out", help="output directory (default: socialrisk_out)")
    r.add_argument("--taxonomy", help="amenity taxonomy TOML (default: the embedded one)")
    r.add_argument("--origins", choices=["buildings", "centroids"],
                   help="where people live: residential buildings (default) or area centroids")
    r.add_argument("--walk-speed", dest="walk_speed_kmh", type=float,
                   help=f"walking speed in km/h (default {schema.WALK_SPEED_KMH:g})")
    r.add_argument("--max-snap", dest="max_snap_m", type=float,
                   help=f"maximum snapping distance to the network in metres "
                        f"(default {schema.MAX_SNAP_M:g})")
    r.add_argument("--normalisation", choices=["rank_exp", "zscore", "minmax"],
                   help="indicator normalisation for the index (default rank_exp)")
    r.add_argument("--lens", dest="lenses", action="append", metavar="NAME",
                   help="score a group at risk too: older_people, disabled_people, "
                        "language_barriers, young_people, low_income or a lens .toml; "
                        "repeat (or comma-separate) for several")
    r.add_argument("--uncertainty", type=int, metavar="N",
                   help="Monte Carlo draws over the analyst's choices (rank intervals, "
                        "robustly at-risk areas, Sobol sensitivity); e.g. 1000")
    r.add_argument("--hotspots", action="store_const", const=True,
                   help="local Getis-Ord Gi* hot and cold spots of each score (PySAL esda)")
    r.add_argument("--cache-dir", dest="cache_dir", help="download cache directory")
    r.add_argument("--no-download", dest="file7_download", action="store_const", const=False,
                   help="do not try to download the official File 7 when no deprivation is given")
    r.add_argument("--no-map", dest="map", action="store_const", const=False,
                   help="skip map.html")
    r.add_argument("--strict", action="store_const", const=True,
                   help="fail (exit 2) on any warning that changes the analysis, e.g. an "
                        "indicator left out of the index or areas a table has no row for")
    r.add_argument("--quiet", action="store_const", const=True, help="no progress output")
    r.add_argument("--debug", action="store_true", help="show tracebacks")

    t = sub.add_parser("categories", help="list the amenity categories of a taxonomy")
    t.add_argument("--taxonomy", help="taxonomy TOML (default: the embedded one)")

    a = sub.add_parser("app", help="start the Streamlit app (needs socialrisk[app])",
                       description="Start the Streamlit app installed with socialrisk; stop it "
                                   "with Ctrl-C. With no --run: the Isle of Wight default.")
    a.add_argument("--run", metavar="DIR", help="output directory of a `socialrisk run` to open")
    a.add_argument("--port", type=_port, help="port to serve on (default: Streamlit's, 8501)")
    a.add_argument("--address", default="127.0.0.1", type=_address,
                   help="network address to serve on (default 127.0.0.1: this computer only; "
                        "0.0.0.0 shares the app with the whole network, and it has no login)")
    a.add_argument("--deprivation", action="append", metavar="CSV",
                   help="deprivation CSV for the Isle of Wight default; repeat for several")
    validate.add_parser(sub)
    compare.add_parser(sub)
    history.add_parser(sub)
    return p


def _address(text: str) -> str:
    """``--address``: an IP address or ``localhost`` (argparse makes the error one line)."""
    if text == "localhost":
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an IP address such as 127.0.0.1 (this computer) or 0.0.0.0 (every "
            f"network interface), not {shown(text)}") from None


def _port(text: str) -> int:
    """``--port``: a whole number from 1 to 65535 (argparse makes the error one line)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, not "
                                         f"{shown(text)}")
    return port


def _configure_logging(quiet: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="socialrisk: %(message)s", stream=sys.stderr)
    for noisy in ("pyogrio", "fiona", "urllib3", "osmnx", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _run(args: argparse.Namespace) -> int:

    flags = {k: v for k, v in vars(args).items()
             if k not in ("command", "config", "debug") and v is not None}
    if "deprivation" in flags:
        flags["deprivation"] = list(flags["deprivation"])
    if "lenses" in flags:
        flags["lenses"] = [x.strip() for v in flags["lenses"] for x in v.split(",") if x.strip()]
    settings = load_settings(args.config, flags)  # every setting and path, before any work
    if settings.assets:  # the lists' files, categories and columns, before any work
        check_asset_lists(settings.assets, load_taxonomy(settings.taxonomy or None))
    if settings.lsoa_lookup:  # a wrong lookup fails now, not after the computation
        if not Path(settings.lsoa_lookup).is_file():
            raise ConfigError(f"lsoa_lookup {shown(settings.lsoa_lookup, 200)} not found; give "
                              f"the ONS LSOA 2011 -> 2021 lookup CSV")
        check_lookup_header(settings.lsoa_lookup)
    out = run_and_write(settings)
    print(f"socialrisk: wrote {out}")
    if not settings.quiet:  # the 10 highest-risk areas and the files, clipped to the terminal
        width = shutil.get_terminal_size((100, 24)).columns
        for line in terminal_summary(out, width=max(width - 1, 40)):
            print(line)
    return 0


def _categories(args: argparse.Namespace) -> int:

    problem = special_file(args.taxonomy) if args.taxonomy else ""
    if problem:
        raise ConfigError(f"taxonomy {shown(args.taxonomy, 200)} {problem}; give the path of "
                          f"a saved .toml file")
    for name, cat in load_taxonomy(args.taxonomy).items():
        print(f"{name:18s} {cat.label}")
    return 0


def app_script() -> Path:
    """The app's Streamlit script installed with the package (``socialrisk/app/``).

    Raises
    ------
    ConfigError
        When the file is missing (a broken install: reinstall socialrisk).
    """
    # found as a resource, not imported: the script imports the app's pages
    script = Path(str(resources.files("socialrisk.app") / "streamlit_app.py"))
    if not script.is_file():
        raise ConfigError(f"the app's script {shown(str(script), 300)} is missing; reinstall "
                          f"socialrisk: pip install \"socialrisk[app]\"")
    return script


def app_command(args: argparse.Namespace, script: str | Path | None = None) -> list[str]:
    """The command line that starts the app: ``python -m streamlit run SCRIPT ... -- ...``.

    The upload limit is given to the server (``--server.maxUploadSize``, in MB as
    Streamlit counts them, MiB) so that Streamlit refuses a bigger request body
    before the app sees it, wherever the app is started from (Streamlit reads
    ``.streamlit/config.toml`` only in the current directory). After ``--`` come
    the app's own options; paths are made absolute (a path starting with ``-``
    then cannot be read as an option).
    """
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or app_script()),
           "--server.maxUploadSize", str(MAX_UPLOAD_BYTES // (1024 * 1024)),
           "--server.headless", "true",
           "--server.address", args.address]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    cmd.append("--")
    if args.run:
        cmd += ["--run", os.path.abspath(args.run)]
    for csv in args.deprivation or []:
        cmd += ["--deprivation", csv if "://" in csv else os.path.abspath(csv)]
    return cmd


def _app(args: argparse.Namespace) -> int:

    if importlib.util.find_spec("streamlit") is None:
        raise ConfigError('the app needs streamlit: pip install "socialrisk[app]"')
    if importlib.util.find_spec("streamlit_folium") is None:
        raise ConfigError('the app needs streamlit-folium: pip install "socialrisk[app]"')
    if args.run and not os.path.isdir(args.run):
        raise ConfigError(f"--run {shown(args.run, 200)} is not a directory; give the --out "
                          f"folder of a `socialrisk run`")
    proc = subprocess.Popen(app_command(args))
    try:
        return _exit_code(proc.wait())
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop Streamlit too, and wait for it
        return _stop(proc)


def _stop(proc: subprocess.Popen) -> int:
    """Stop the app's server as Ctrl-C would; its exit code (killed after 15 s)."""
    try:
        proc.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        return _exit_code(proc.wait(timeout=15))
    except subprocess.TimeoutExpired:
        proc.kill()
        return _exit_code(proc.wait())
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait
        proc.kill()
        return _exit_code(proc.wait())


def _exit_code(code: int) -> int:
    """A child's exit code as a shell shows it (killed by signal N: 128 + N)."""
    return 128 - code if code < 0 else code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 user error, 130 Ctrl-C or SIGTERM).

    Every user error is one line on stderr, ``socialrisk: error: <problem>; <fix>``,
    and exit code 2: bad flags, bad settings, bad inputs, and files that cannot
    be written (GDAL's errors included). ``--debug`` shows the traceback instead.
    """
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"socialrisk: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    debug = getattr(args, "debug", False)
    _configure_logging(bool(getattr(args, "quiet", False)), debug)
    from tqdm.contrib.logging import logging_redirect_tqdm

    previous = _terminate_as_interrupt()
    try:
        with logging_redirect_tqdm():
            if args.command == "run":
                return _run(args)
            if args.command == "app":
                return _app(args)
            if args.command == "validate":
                return validate.main(args)
            if args.command in ("compare", "runs"):
                return args.handler(args)
            return _categories(args)
    except SocialRiskError as exc:
        if debug:
            raise
        print(f"socialrisk: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permission denied, a path that is a directory...
        if debug:
            raise
        print(f"socialrisk: error: {_one_line(exc)}; check the path, its permissions and the "
              f"free disk space (--debug shows where it happened)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("socialrisk: interrupted; previous outputs left as they were", file=sys.stderr)
        return 130
    except Exception as exc:
        # GDAL (through pyogrio) reports a full disk or an unwritable folder with its own
        # exception types, not OSError: DataSourceError, FeatureError, FieldError, ...
        if debug or not _is_gdal_error(exc):
            raise
        print(f"socialrisk: error: GDAL could not write or read a file ({_one_line(exc, 300)}); "
              f"check that the output folder is writable and the disk has free space, then "
              f"run again (--debug shows where it happened)", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _one_line(exc: BaseException, limit: int = 2000) -> str:
    """The message of ``exc`` on one line, control characters escaped (one line per error)."""
    return clipped(exc, limit) or type(exc).__name__


def _is_gdal_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of pyogrio's GDAL errors (without importing pyogrio)."""
    return type(exc).__module__.split(".")[0] == "pyogrio"


def _terminate_as_interrupt() -> Any:
    """Make SIGTERM (``kill PID``) clean up like Ctrl-C; returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover (not the main thread of the interpreter)
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
