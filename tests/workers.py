"""Which tests share a pytest-xdist worker when the suite runs on several (`scripts/test.sh`,
`-n 2 --dist loadgroup`): each such set is one `xdist_group`, handed to one worker whole.

- `lab`: every test that runs a lab (tests/lab/conftest.py): the session's lab, its captures and
  jobs, made once, on one worker (its Preparation starts at the first of them there).
- `wheel`: tests/test_packaging.py and tests/test_profiles.py build one wheel of the source tree per
  session with `pip wheel`, which writes `build/` and the egg-info into the tree: two at once on
  one tree would race.
- a test that takes a module- or class-scoped fixture runs on the worker that made it, with the
  rest of its module (`served` starts an HSM and an issuer, `rig` a guard, ...), instead of each
  worker making it again.

Every other test is a unit of its own, given to whichever worker is free. Session fixtures (the
HSM home, the crashed key holders, PostgreSQL) are made once per worker, each in its own
`--basetemp` directory. Without xdist (the mutation runner, a plain `pytest`) nothing here acts."""

from __future__ import annotations

import pytest

WHEEL_MODULES = frozenset({"tests/test_packaging.py", "tests/test_profiles.py"})
SHARED_SCOPES = frozenset({"module", "class", "package"})


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def group_of(item: pytest.Item) -> str | None:
    """The xdist group of a test: the set of tests that must run on its worker (None: any worker)."""
    from tests.lab.conftest import runs_a_lab  # loaded by then (it is a conftest)

    if item.get_closest_marker("lab_late") is not None or runs_a_lab(item):
        return "lab"
    module = _module(item)
    if module in WHEEL_MODULES:
        return "wheel"
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    if any(defs and defs[-1].scope in SHARED_SCOPES for defs in definitions):
        return module
    return None


def running_in_groups(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker of a `--dist loadgroup` run."""
    return hasattr(config, "workerinput") and bool(config.getvalue("loadgroup"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which appends each test's group to its node id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not running_in_groups(config):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


class GroupSuffix:
    """pytest-xdist 3.8 hands a group to the scheduler as an `@group` suffix of the test's node id,
    written to `item._nodeid`, which pytest 9.2 no longer reads (node ids are structured): every
    test then goes alone to any worker, silently (pytest-dev/pytest-xdist#1386). After xdist's
    hook, a test whose id lacks its suffix gets it here; once xdist writes it, this does nothing."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                            for mark in item.iter_markers("xdist_group")})
            suffix = "@" + "_".join(names)
            if names and not item.nodeid.endswith(suffix):
                _set_node_id(item, item.nodeid + suffix)


def _set_node_id(item: pytest.Item, nodeid: str) -> None:
    if hasattr(item, "_id"):  # pytest 9.2: a structured id, whose string is the one parsed
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid
    assert item.nodeid == nodeid, (item.nodeid, nodeid)


def pytest_configure(config: pytest.Config) -> None:
    if running_in_groups(config):
        config.pluginmanager.register(GroupSuffix(), "signward-xdist-group-suffix")
