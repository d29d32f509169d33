"""Fixtures of the engine harness (see harness.py): a fake engine, provider processes that are
shut down like the engine does it, and a TCP trap that proves nothing was contacted."""

from __future__ import annotations

import pytest

from harness import BINARY, REPO_ROOT, FakeEngine, ProviderProcess, TcpTrap


def _require_binary():
    if not BINARY.exists():
        pytest.fail(
            f"{BINARY.relative_to(REPO_ROOT)} is missing: run scripts/test (or `cargo build --bins`) first",
            pytrace=False,
        )


def _stop_all(started: list[ProviderProcess]) -> None:
    """Cancel + SIGINT every process (each must exit within 5 s); stdout must hold the port only."""
    problems = []
    for p in started:
        p.shutdown()
        extra = p.extra_stdout()
        if extra:
            problems.append(f"provider wrote to stdout after the port line: {extra[:500]!r}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop()


@pytest.fixture
def spawn(engine):
    """spawn(argv=None) starts a provider; argv defaults to what `pulumi --logflow -v=9` passes."""
    _require_binary()
    started: list[ProviderProcess] = []

    def _spawn(argv: list[str] | None = None) -> ProviderProcess:
        if argv is None:
            argv = ["--logtostderr", "-v=9", engine.address]
        p = ProviderProcess(argv, engine)
        started.append(p)
        return p

    yield _spawn
    _stop_all(started)


@pytest.fixture
def provider(spawn) -> ProviderProcess:
    """A provider of this test's own, started with the engine's usual argv (not yet handshaken)."""
    return spawn()


@pytest.fixture(scope="module")
def configured() -> ProviderProcess:
    """One provider per module after Handshake, GetPluginInfo and Configure(environment=public),
    shared by the tests whose RPCs are stateless (Check, Diff, preview Create, ...)."""
    _require_binary()
    e = FakeEngine()
    started: list[ProviderProcess] = []
    try:
        p = ProviderProcess(["--logtostderr", "-v=9", e.address], e)
        started.append(p)
        yield p.start()
    finally:
        try:
            _stop_all(started)
        finally:
            e.stop()


@pytest.fixture
def trap():
    t = TcpTrap()
    yield t
    t.close()
