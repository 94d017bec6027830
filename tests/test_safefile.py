"""The one writer of output files (issue #34): a new file or its own, never through a link,
never over another file unless forced, renamed into place; and the commands that use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signward.errors import UsageError
from signward.safefile import DOT_MARK, HTML_MARK, write_file
from signward.services import Services
from tests.dumps.test_pipeline import _planted, capture, make_home, opened, pipeline_of  # noqa: F401

MODELS = Path(__file__).resolve().parents[1] / "models"
NOT_OURS = "was not written by signward"
NOT_REGULAR = "is not a regular file"


def _refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(UsageError) as refused:
        write_file(path, "<p>new</p>\n", mark=HTML_MARK, **kwargs)  # type: ignore[arg-type]
    return str(refused.value)


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_a_new_file_then_its_own_file_again(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    write_file(page, "<p>one</p>\n", mark=HTML_MARK)
    assert page.read_text() == "<p>one</p>\n" + HTML_MARK and page.stat().st_mode & 0o777 == 0o644
    write_file(page, "<p>two</p>\n", mark=HTML_MARK)  # its own: replaced without --force
    assert page.read_text() == "<p>two</p>\n" + HTML_MARK
    assert _leftovers(tmp_path) == []


def test_a_file_it_did_not_write_is_replaced_only_with_force(tmp_path: Path) -> None:
    config = tmp_path / "WATCH.toml"
    config.write_text("[watch]\ninterval = '5m'\n")
    assert NOT_OURS in _refusal(config)
    assert config.read_text() == "[watch]\ninterval = '5m'\n"
    dot = tmp_path / "g.dot"
    write_file(dot, "digraph g {}\n", mark=DOT_MARK)
    assert NOT_OURS in _refusal(dot)  # another format's file of ours is not this format's own file
    write_file(config, "<p>forced</p>\n", mark=HTML_MARK, force=True)
    assert config.read_text().startswith("<p>forced</p>") and _leftovers(tmp_path) == []


def test_no_link_is_followed_forced_or_not(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root-owned secret\n" + HTML_MARK)  # even a file that looks like one of ours
    os.chmod(victim, 0o600)
    link = tmp_path / "out.html"
    link.symlink_to(victim)
    assert NOT_OURS in _refusal(link)
    assert victim.read_text() == "root-owned secret\n" + HTML_MARK
    write_file(link, "<p>forced</p>\n", mark=HTML_MARK, force=True)  # the link itself is replaced
    assert not link.is_symlink() and link.read_text().startswith("<p>forced</p>")
    assert victim.read_text() == "root-owned secret\n" + HTML_MARK and victim.stat().st_mode & 0o777 == 0o600
    dangling = tmp_path / "dangling.html"
    dangling.symlink_to(tmp_path / "would-be-created")
    assert NOT_OURS in _refusal(dangling)
    assert not (tmp_path / "would-be-created").exists()


def test_directories_fifos_and_devices_are_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    for special in (fifo, tmp_path / "dir", Path("/dev/null")):
        assert NOT_REGULAR in _refusal(special, force=True)
    assert "no directory" in _refusal(tmp_path / "missing" / "page.html")
    assert _leftovers(tmp_path) == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=300)


def test_depth_analyze_writes_through_the_safe_writer(tmp_path: Path) -> None:
    model = str(MODELS / "storm-0558-signward.yaml")
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (tmp_path / "g.dot").symlink_to(victim)
    for flag, name in (("--dot", "g.dot"), ("--html", "victim")):
        done = _cli("depth", "analyze", model, flag, str(tmp_path / name))
        assert done.returncode == 2 and NOT_OURS in done.stderr and str(tmp_path / name) in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and victim.read_text() == "keep me\n"
    fresh = tmp_path / "fresh.dot"
    assert _cli("depth", "analyze", model, "--dot", str(fresh)).returncode == 0
    assert _cli("depth", "analyze", model, "--dot", str(fresh)).returncode == 0  # its own file, again
    assert fresh.read_text().startswith("digraph") and fresh.read_text().endswith(DOT_MARK)
    assert _cli("depth", "analyze", model, "--html", str(victim), "--force").returncode == 0
    assert victim.read_text().endswith(HTML_MARK)


def test_watch_report_does_not_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    from signward.home import Home
    from signward.services import init_home

    home = Home(tmp_path / "h")
    init_home(home)
    config = tmp_path / "WATCH.toml"
    config.write_text("[watch]\n")
    done = _cli("--home", str(home.root), "watch", "report", "--html", str(config))
    assert done.returncode == 2 and NOT_OURS in done.stderr and config.read_text() == "[watch]\n"
    page = tmp_path / "watch.html"
    for _ in range(2):  # a new file, then its own
        done = _cli("--home", str(home.root), "watch", "report", "--html", str(page))
        assert done.returncode == 0, done.stderr
    assert page.read_text().endswith(HTML_MARK)


def test_release_never_writes_the_store_key_list_through_a_link(tmp_path: Path, opened: list[Services]) -> None:
    pipeline = pipeline_of(opened, make_home(tmp_path / "home", None))
    record = capture(pipeline, _planted(tmp_path))
    store = tmp_path / "store"
    store.mkdir()
    victims = [tmp_path / "victim-tmp", tmp_path / "victim-json"]
    for victim, name in zip(victims, ("public-keys.tmp", "public-keys.json"), strict=True):
        victim.write_text("root-owned\n")
        os.chmod(victim, 0o600)
        (store / name).symlink_to(victim)
    pipeline.release(record.id, str(store))
    assert [v.read_text() for v in victims] == ["root-owned\n"] * 2
    assert not (store / "public-keys.json").is_symlink() and (store / "public-keys.json").read_text().startswith("[")



def test_a_symlinked_directory_is_not_followed_unless_given_by_its_real_path(tmp_path: Path) -> None:
    """Issue #34 F7: a directory component planted as a link redirected the write onto a file
    of the tool's own elsewhere (it ends with the mark, so it was replaced)."""
    victim = tmp_path / "victim-dir"
    victim.mkdir()
    (victim / "index.html").write_text("<p>victim page</p>\n" + HTML_MARK)
    (tmp_path / "shared-out").symlink_to(victim)
    assert "reached through a symlink" in _refusal(tmp_path / "shared-out" / "index.html")
    assert (victim / "index.html").read_text().startswith("<p>victim page")
    write_file(victim / "index.html", "<p>new</p>\n", mark=HTML_MARK)  # the real path: written
    assert (victim / "index.html").read_text().startswith("<p>new")


def test_a_secret_is_never_created_through_a_dangling_link(tmp_path: Path) -> None:
    """Issue #34 F7: the HSM PIN was created wherever a dangling link at hsm/pin pointed."""
    from signward.errors import ConfigError
    from signward.home import Home, write_secret

    home = tmp_path / "home"
    (home / "hsm").mkdir(parents=True)
    (home / "hsm" / "pin").symlink_to(tmp_path / "created-elsewhere")
    with pytest.raises(ConfigError, match="a symlink is refused"):
        Home(home).secret("hsm/pin", create_bytes=16)
    with pytest.raises(ConfigError, match="only as a new file"):
        write_secret(home / "hsm" / "pin", "1234")
    assert not (tmp_path / "created-elsewhere").exists()
    assert len(Home(tmp_path / "other").secret("hsm/pin", create_bytes=16)) == 32  # no link: made, 0600
    assert (tmp_path / "other" / "hsm" / "pin").stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another account needs root (CI runs as root)")
def test_a_secret_owned_by_another_account_is_refused(tmp_path: Path) -> None:
    """A 0600 token file another account owns (and so controls) is not this issuer's secret."""
    from signward.errors import ConfigError
    from signward.home import Home, write_secret

    write_secret(tmp_path / "hsm" / "transit-token", "s.abcdefghijklmnopqrstuvwx")
    assert Home(tmp_path).secret("hsm/transit-token") == "s.abcdefghijklmnopqrstuvwx"
    os.chown(tmp_path / "hsm" / "transit-token", 65534, 65534)  # mode still 0600, directory still ours
    with pytest.raises(ConfigError, match="is owned by uid 65534, not by this process's uid 0"):
        Home(tmp_path).secret("hsm/transit-token")


def test_a_secret_in_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    """Whoever can write the directory can replace the 0600 file with their own token."""
    from signward.errors import ConfigError
    from signward.home import Home, write_secret

    write_secret(tmp_path / "hsm" / "pin", "1234")
    assert Home(tmp_path).secret("hsm/pin") == "1234"
    os.chmod(tmp_path / "hsm", 0o777)  # the file itself is unchanged: 0600, ours
    with pytest.raises(ConfigError, match="its directory can be written by another account"):
        Home(tmp_path).secret("hsm/pin")
    os.chmod(tmp_path / "hsm", 0o775)
    with pytest.raises(ConfigError, match="its directory can be written by another account"):
        Home(tmp_path).secret("hsm/pin")
    os.chmod(tmp_path / "hsm", 0o755)
    assert Home(tmp_path).secret("hsm/pin") == "1234"


def test_a_fifo_at_the_sanitizers_lock_file_is_refused_without_blocking(tmp_path: Path) -> None:
    """Issue #34 F7: opening a FIFO planted at .OUT.lock for writing blocked sanitize forever."""
    import threading

    from signward.dumps.sanitize import _locked
    from signward.errors import DumpFormatError

    os.mkfifo(tmp_path / ".out.core.lock")
    raised: list[BaseException] = []

    def lock() -> None:
        try:
            with _locked(tmp_path / "out.core"):
                pass
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            raised.append(exc)

    worker = threading.Thread(target=lock, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # blocked on the FIFO: release it with a reader, then fail
        os.close(os.open(tmp_path / ".out.core.lock", os.O_RDONLY | os.O_NONBLOCK))
        pytest.fail("sanitize's lock blocked on a FIFO")
    assert len(raised) == 1 and isinstance(raised[0], DumpFormatError) and "lock file" in str(raised[0])
