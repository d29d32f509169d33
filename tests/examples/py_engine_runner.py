"""Runs a Pulumi Python program for real, against the provider plugin, the way `pulumi up` would
without the Pulumi CLI: Pulumi's test mocks stand in for the engine's resource monitor only, and
every resource the program registers goes to the real `pulumi-resource-pgentra` process over gRPC
(Check, then Create), every invoke to its Invoke. `destroy` deletes what `up` made, last first, as
`pulumi destroy` does.

    python py_engine_runner.py up PROGRAM_DIR PROJECT CONFIG_JSON PROVIDER_CONFIG_JSON
    python py_engine_runner.py destroy MADE_JSON_FILE PROVIDER_CONFIG_JSON

`up` prints one JSON object: {"made": [{type, name, id, state}], "outputs": {...}, "error": text or
null}; what was made before an error is listed, so it can be destroyed. Run it in a process of its
own: the Pulumi runtime's settings are global.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "conformance"))  # the engine harness: FakeEngine, ProviderProcess

import pulumi  # noqa: E402
from harness import FakeEngine, ProviderProcess, from_struct, secret, to_struct, unwrap, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402
from pulumi.runtime.settings import get_root_resource  # noqa: E402

CREATE_TIMEOUT = 180  # seconds: the emulator's long-running operations, a server's included


def start_provider(provider_config: dict) -> tuple[FakeEngine, ProviderProcess]:
    engine = FakeEngine()
    config = dict(provider_config)
    if "clientSecret" in config:
        config["clientSecret"] = secret(config["clientSecret"])
    return engine, ProviderProcess([engine.address], engine).start(config)


class Engine(pulumi.runtime.Mocks):
    """The mocks' answers are the provider's: Check + Create for a resource, Invoke for a call."""

    def __init__(self, provider: ProviderProcess):
        self.provider = provider
        self.made: list[dict] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        checked = self.provider.check(args.typ, args.name, args.inputs)
        if checked.failures:
            raise RuntimeError(f"{args.typ} {args.name}: check failed: "
                               f"{[(f.property, f.reason) for f in checked.failures]}")
        created = self.provider.stub.Create(
            provider_pb2.CreateRequest(urn=urn(args.typ, args.name), properties=checked.inputs, name=args.name,
                                       type=args.typ, timeout=CREATE_TIMEOUT),
            timeout=CREATE_TIMEOUT + 30)
        state = from_struct(created.properties)
        self.made.append({"type": args.typ, "name": args.name, "id": created.id, "state": state})
        return created.id, {k: unwrap(v) for k, v in state.items()}

    def call(self, args: pulumi.runtime.MockCallArgs):
        answer = self.provider.stub.Invoke(provider_pb2.InvokeRequest(tok=args.token, args=to_struct(args.args)),
                                           timeout=60)
        if answer.failures:
            raise RuntimeError(f"{args.token}: {[(f.property, f.reason) for f in answer.failures]}")
        return {k: unwrap(v) for k, v in from_struct(getattr(answer, "return")).items()}


def up(program: Path, project: str, config: dict, provider_config: dict) -> dict:
    os.environ["PULUMI_CONFIG"] = json.dumps({f"{project}:{k}": v for k, v in config.items()})
    engine, provider = start_provider(provider_config)
    mocks = Engine(provider)
    pulumi.runtime.set_mocks(mocks, project=project, stack="emulator", preview=False)
    outputs: dict = {}
    error = None

    @pulumi.runtime.test
    def run_program():
        sys.path.insert(0, str(program))
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(**get_root_resource().outputs).apply(outputs.update)

    try:
        run_program()
    except Exception:  # noqa: BLE001 reported with what was made, for the caller to destroy
        error = traceback.format_exc(limit=8)
    finally:
        provider.shutdown()
        engine.stop()
    return {"made": mocks.made, "outputs": outputs, "error": error}


def destroy(made: list[dict], provider_config: dict) -> None:
    engine, provider = start_provider(provider_config)
    try:
        for r in reversed(made):
            provider.stub.Delete(provider_pb2.DeleteRequest(id=r["id"], urn=urn(r["type"], r["name"]),
                                                            properties=to_struct(r["state"]), name=r["name"],
                                                            type=r["type"], timeout=CREATE_TIMEOUT),
                                 timeout=CREATE_TIMEOUT + 30)
    finally:
        provider.shutdown()
        engine.stop()


def main() -> None:
    if sys.argv[1] == "up":
        program, project, config, provider_config = sys.argv[2:6]
        json.dump(up(Path(program).resolve(), project, json.loads(config), json.loads(provider_config)),
                  sys.stdout, default=str)
    elif sys.argv[1] == "destroy":
        destroy(json.loads(Path(sys.argv[2]).read_text())["made"], json.loads(sys.argv[3]))
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}: up or destroy")


if __name__ == "__main__":
    main()
