"""The engine harness for pgentra, written with the official Pulumi stubs from the pinned wheel.

It plays the part of the Pulumi engine: serves a fake `pulumirpc.Engine` (recording Log calls),
spawns `target/debug/pulumi-resource-pgentra` the way the engine does, reads the port line,
talks to the provider over gRPC, and shuts it down like the engine (Cancel, then SIGINT, 5 s).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2

from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    status_pb2,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY = REPO_ROOT / "target" / "debug" / "pulumi-resource-pgentra"

# Wire encodings (PROTOCOL.md section 4).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

RPC_TIMEOUT = 10.0
MAX_MESSAGE = 400 * 1024 * 1024
PROVIDER_URN = "urn:pulumi:dev::myapp::pulumi:providers:pgentra::default"


def shared_dir() -> Path:
    """shared/ sits beside the repo (CI clones it that way) unless PGENTRA_SHARED says otherwise."""
    env = os.environ.get("PGENTRA_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


# ---------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------


def acl_lock_key(*parts: str) -> int:
    """The advisory lock key pgentra takes before writing an ACL (crates/core/src/sql/grant.rs,
    `lock_key`): FNV-1a 64 of "pgentra" and the parts, each ended by a NUL, as a signed bigint.
    ("schema", "public") locks one schema's ACL, ("database", "myappdb") one database's. A test
    holding it plays another pgentra process mid-write of the same object."""
    h = 0xCBF29CE484222325
    for byte in b"pgentra\0" + b"".join(part.encode() + b"\0" for part in parts):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


def secret(value: Any) -> dict:
    return {SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def unwrap(value: Any) -> Any:
    """The plain value behind a secret (or the value itself)."""
    return value["value"] if is_secret(value) else value


def to_struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


def from_struct(s: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(s)


def plaintext_leaks(value: Any, needle: str, path: str = "") -> list[str]:
    """Paths where `needle` appears in clear, i.e. not inside a secret wrapper."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += plaintext_leaks(v, needle, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += plaintext_leaks(v, needle, f"{path}[{i}]")
        return out
    if isinstance(value, str) and needle in value:
        return [path or "<root>"]
    return []


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:dev::myapp::{type_token}::{name}"


# ---------------------------------------------------------------------------------------------
# The fake engine
# ---------------------------------------------------------------------------------------------


class FakeEngine(engine_pb2_grpc.EngineServicer):
    def __init__(self):
        self.logs: list[engine_pb2.LogRequest] = []
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def Log(self, request, context):
        with self._lock:
            self.logs.append(request)
        return empty_pb2.Empty()

    def messages(self) -> list[str]:
        with self._lock:
            return [r.message for r in self.logs]

    def wait_for_logs(self, count: int = 1, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            time.sleep(0.02)
        return self.messages()

    def wait_for_message(self, wanted, timeout: float = 10.0) -> list[str]:
        """The messages once one satisfies `wanted`: the plugin queues its Log calls, so one may
        still be on its way when the RPC that wrote it has answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages()
            if any(wanted(m) for m in msgs):
                return msgs
            time.sleep(0.02)
        return self.messages()

    def stop(self):
        self.server.stop(grace=None)


class LoopbackListener:
    """A listener on 127.0.0.1 with its own accept thread, handing each connection to `serve`.
    A subclass sets what `serve` records before it calls this `__init__`, which starts accepting."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class TcpTrap(LoopbackListener):
    """A loopback listener that counts connections: proof that nothing reached 'Azure'."""

    def __init__(self):
        self.connections = 0
        super().__init__()
        self.url = f"https://127.0.0.1:{self.port}"

    def serve(self, conn):
        self.connections += 1
        conn.close()


# ---------------------------------------------------------------------------------------------
# The provider process
# ---------------------------------------------------------------------------------------------


class ProviderProcess:
    """One pulumi-resource-pgentra process, driven like the engine drives it."""

    def __init__(self, argv: list[str], engine: FakeEngine, binary: Path = BINARY):
        self.argv = argv
        self.engine = engine
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(binary), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            cwd=REPO_ROOT,
            start_new_session=True,  # the engine puts each plugin in its own process group
        )
        self._first_line = bytearray()
        self._first_line_done = threading.Event()
        self._rest = bytearray()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        if not self._first_line_done.wait(timeout=10):
            self._kill()
            pytest.fail(f"provider printed no port line within 10 s; stderr:\n{self.stderr()}")
        self.port_line = bytes(self._first_line)
        if not re.fullmatch(rb"\d+\n", self.port_line):
            self._kill()
            pytest.fail(
                f"the first stdout line must be only digits then \\n, got {self.port_line!r}; "
                f"stderr:\n{self.stderr()}"
            )
        self.port = int(self.port_line)
        assert 0 < self.port < 65536
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
            ],
        )
        try:
            grpc.channel_ready_future(self.channel).result(timeout=10)
        except grpc.FutureTimeoutError:
            self._kill()
            pytest.fail(f"provider port {self.port} did not accept a gRPC connection; stderr:\n{self.stderr()}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.closed = False

    def _read_stdout(self):
        out = self.proc.stdout
        while True:
            b = out.read(1)
            if not b:
                break
            self._first_line += b
            if b == b"\n":
                break
        self._first_line_done.set()
        while True:
            chunk = out.read1(65536) if hasattr(out, "read1") else out.read(65536)
            if not chunk:
                break
            self._rest += chunk

    def stderr(self) -> str:
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")

    def _kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    # --- the engine's conversation -------------------------------------------------------

    def handshake(self, **overrides) -> provider_pb2.ProviderHandshakeResponse:
        fields = dict(
            engine_address=self.engine.address,
            root_directory=str(BINARY.parent),
            program_directory=str(BINARY.parent),
            configure_with_urn=True,
            supports_views=True,
            supports_refresh_before_update=True,
            invoke_with_preview=True,
            accepts_byte_string=True,
        )
        fields.update(overrides)
        fields = {k: v for k, v in fields.items() if v is not None}  # None = absent (attach mode)
        return self.stub.Handshake(provider_pb2.ProviderHandshakeRequest(**fields), timeout=RPC_TIMEOUT)

    def configure(self, args: dict) -> provider_pb2.ConfigureResponse:
        variables = {}
        for k, v in args.items():
            v = unwrap(v)
            variables[f"pgentra:config:{k}"] = v if isinstance(v, str) else json.dumps(v)
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(
                variables=variables,
                args=to_struct(args),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                id=UNKNOWN,
                urn=PROVIDER_URN,
                name="default",
                type="pulumi:providers:pgentra",
            ),
            timeout=RPC_TIMEOUT,
        )

    def start(self, config: dict | None = None) -> "ProviderProcess":
        """Handshake, GetPluginInfo and Configure, as the engine does before any resource RPC."""
        self.handshake()
        self.stub.GetPluginInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT)
        self.configure(config if config is not None else {"environment": "public"})
        return self

    def check(self, type_token: str, name: str, news: dict, olds: dict | None = None,
              seed: bytes = b"seed-0123456789abcdef0123456789ab") -> provider_pb2.CheckResponse:
        return self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn(type_token, name),
                olds=to_struct(olds or {}),
                news=to_struct(news),
                randomSeed=seed,
                name=name,
                type=type_token,
            ),
            timeout=RPC_TIMEOUT,
        )

    def diff(self, type_token: str, name: str, olds: dict, news: dict, old_inputs: dict | None = None,
             id: str = "some-id") -> provider_pb2.DiffResponse:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id,
                urn=urn(type_token, name),
                olds=to_struct(olds),
                news=to_struct(news),
                old_inputs=to_struct(old_inputs if old_inputs is not None else olds),
                name=name,
                type=type_token,
            ),
            timeout=RPC_TIMEOUT,
        )

    def create(self, type_token: str, name: str, properties: dict, preview: bool) -> provider_pb2.CreateResponse:
        return self.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn(type_token, name),
                properties=to_struct(properties),
                preview=preview,
                name=name,
                type=type_token,
            ),
            timeout=RPC_TIMEOUT,
        )

    # --- shutdown ------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel, close the connection, SIGINT; the process must be gone within 5 s."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stub.Cancel(empty_pb2.Empty(), timeout=5)
        except grpc.RpcError:
            pass  # test_cancel_returns_empty_then_sigint_stops_the_process pins Cancel itself
        self.channel.close()
        self.interrupt_and_wait()

    def interrupt_and_wait(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail(f"provider did not exit within 5 s of SIGINT; stderr:\n{self.stderr()}")
        self._reader.join(timeout=5)
        self.closed = True
        return code

    def extra_stdout(self) -> bytes:
        return bytes(self._rest)


def failures_by_property(resp: provider_pb2.CheckResponse) -> dict[str, str]:
    return {f.property: f.reason for f in resp.failures}


def describe_failures(resp: provider_pb2.CheckResponse) -> str:
    return "; ".join(f"{f.property}: {f.reason}" for f in resp.failures) or "<no failures>"


def status_details(err: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status carried in grpc-status-details-bin (typed details such as
    pulumirpc.ErrorResourceInitFailed: `status.details[0].Unpack(msg)`), or None."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None
