"""The README's set-up commands are the ones CI runs."""

from conftest import ROOT

#: the README's test command: a plain install (not -e), then the default (not slow) tests
TEST_COMMAND = 'pip install ".[test]" && python -m pytest'


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert TEST_COMMAND in readme.splitlines() or f"`{TEST_COMMAND}`" in readme, \
        f"README.md should give the test command {TEST_COMMAND!r}"
    assert TEST_COMMAND in ci  # the exact line
    assert "pip install . && socialrisk run --out out/isle_of_wight" in readme


def test_ci_also_runs_the_slow_tests_and_fails_when_either_run_fails():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python -m pytest -m slow" in ci
    assert ci.index("python -m pytest -m slow") > ci.index(TEST_COMMAND)
    assert "set +e" in "\n".join(ci)  # the slow tests run even when the first run fails
    assert ci[-1] == '[ "$fast" = 0 ] && [ "$slow" = 0 ]'  # ... and the exit code says so
    assert not any(line.startswith("pip install -e") for line in ci)  # a plain install


def test_ci_keeps_the_browser_packages():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install" in ci and "chromium chromium-driver" in ci
