"""Helpers the generated modules share."""

import importlib.metadata
import json
import os
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypeVar

import pulumi
import semver

_Args = TypeVar("_Args")
_Opts = TypeVar("_Opts")


def _read_version() -> str:
    """The version in the installed distribution's metadata. A source checkout put on the path
    (not installed) has none; then the version in the package's pulumi-plugin.json, which is
    written with the same version beside these modules."""
    package = __name__.split(".")[0]
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        plugin = json.loads((Path(__file__).parent / "pulumi-plugin.json").read_text())
        return str(plugin["version"])


_VERSION = _read_version()

# The schema's pluginDownloadURL; empty when it has none.
_PLUGIN_DOWNLOAD_URL: str = "@PLUGIN_DOWNLOAD_URL@"


def get_version() -> str:
    """The SDK's version, which is the provider plugin version the engine loads."""
    return _VERSION


def get_plugin_download_url() -> Optional[str]:
    """Where the engine downloads the plugin when that version is not installed (None: its default)."""
    return _PLUGIN_DOWNLOAD_URL or None


def get_resource_opts_defaults() -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(
        version=get_version(), plugin_download_url=get_plugin_download_url()
    )


def get_invoke_opts_defaults() -> pulumi.InvokeOptions:
    return pulumi.InvokeOptions(
        version=get_version(), plugin_download_url=get_plugin_download_url()
    )


def get_invoke_output_opts_defaults() -> pulumi.InvokeOutputOptions:
    return pulumi.InvokeOutputOptions(
        version=get_version(), plugin_download_url=get_plugin_download_url()
    )


def get_env(*names: str) -> Optional[str]:
    """The value of the first of these environment variables that is set."""
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            return value
    return None


def get_env_bool(*names: str) -> Optional[bool]:
    value = get_env(*names)
    if value is None:
        return None
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


def get_env_int(*names: str) -> Optional[int]:
    value = get_env(*names)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def get_env_float(*names: str) -> Optional[float]:
    value = get_env(*names)
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _as_inputs(props: Any) -> pulumi.Inputs:
    """An `@pulumi.input_type` instance as a resource's props. pulumi accepts one there and
    translates its names by the class's getters, though its annotation says Mapping."""
    return typing.cast(pulumi.Inputs, props)


def register_resources(
    package: str,
    module: str,
    resources: Mapping[str, Callable[..., pulumi.Resource]],
    provider: Callable[..., pulumi.ProviderResource],
) -> None:
    """Lets the runtime rebuild this package's resources and provider from the references (URNs)
    it receives, such as a resource among another resource's outputs."""
    version = semver.Version.parse(_VERSION)

    class Module(pulumi.runtime.ResourceModule):
        def version(self) -> Optional[semver.Version]:
            return version

        def construct(self, name: str, typ: str, urn: str) -> pulumi.Resource:
            constructor = resources.get(typ)
            if constructor is None:
                raise ValueError(f"unknown resource type {typ}")
            return constructor(name, pulumi.ResourceOptions(urn=urn))

    class Package(pulumi.runtime.ResourcePackage):
        def version(self) -> Optional[semver.Version]:
            return version

        def construct_provider(self, name: str, typ: str, urn: str) -> pulumi.ProviderResource:
            if typ != f"pulumi:providers:{package}":
                raise ValueError(f"unknown provider type {typ}")
            return provider(name, pulumi.ResourceOptions(urn=urn))

    pulumi.runtime.register_resource_module(package, module, Module())
    pulumi.runtime.register_resource_package(package, Package())


def get_resource_args_opts(
    args_type: type[_Args], opts_type: type[_Opts], *args: Any, **kwargs: Any
) -> tuple[Optional[_Args], Optional[_Opts]]:
    """Tells the two ways of calling a resource's constructor apart: with an args object
    (positionally or as `args=`), or with the properties as keyword arguments."""
    resource_args: Optional[_Args] = None
    opts: Optional[_Opts] = None
    rest = args
    if rest and isinstance(rest[0], args_type):
        resource_args, rest = rest[0], rest[1:]
    if rest and isinstance(rest[0], opts_type):
        opts = rest[0]
    if resource_args is None and isinstance(kwargs.get("args"), args_type):
        resource_args = kwargs["args"]
    if opts is None and isinstance(kwargs.get("opts"), opts_type):
        opts = kwargs["opts"]
    return resource_args, opts
