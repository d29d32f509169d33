#!/usr/bin/env python3
"""Prepares a running `pgentra emulator` for the examples, as an Azure administrator would prepare
a subscription and a tenant before `pulumi up`:

  - the resource group the stack deploys into (`az group create`),
  - the Entra admin group, with the emulator's deployer as a member (the stack signs in to
    PostgreSQL as that group),
  - the readwrite group and the developer's user (the stack creates roles for them by name),

then prints the `pulumi config set` lines for the example's stack config. It reads the emulator's
connection from the environment variables `pgentra emulator` prints (its `export` lines), talks
only to that emulator (a loopback address), and can run again: what exists is reused.

    python3 ../emulator_prepare.py --oidc-issuer https://127.0.0.1:PORT     # then run its output
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import shlex
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

ENVIRONMENT = {
    "armEndpoint": "PGENTRA_ARM_ENDPOINT",
    "authorityHost": "AZURE_AUTHORITY_HOST",
    "tenantId": "AZURE_TENANT_ID",
    "subscriptionId": "AZURE_SUBSCRIPTION_ID",
    "clientId": "AZURE_CLIENT_ID",
    "clientSecret": "AZURE_CLIENT_SECRET",
    "caCertFile": "PGENTRA_CA_CERT_FILE",
}
ARM_SCOPE = "https://management.azure.com/.default"
RESOURCE_GROUP_API = "2021-04-01"


class Failure(Exception):
    """What went wrong, said to the user as is."""


def emulator_settings(environ) -> dict:
    missing = [var for var in ENVIRONMENT.values() if not environ.get(var)]
    if missing:
        raise Failure(f"{', '.join(missing)} not set: paste the `export` lines `pgentra emulator` prints "
                      "into this shell first")
    settings = {key: environ[var] for key, var in ENVIRONMENT.items()}
    host = urllib.parse.urlsplit(settings["armEndpoint"]).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Failure(f"PGENTRA_ARM_ENDPOINT is {settings['armEndpoint']}, not a local emulator: this script "
                      "prepares `pgentra emulator` only (on Azure, follow the README's Azure steps)")
    return settings


class Emulator:
    def __init__(self, settings: dict):
        self.settings = settings
        self.tls = ssl.create_default_context(cafile=settings["caCertFile"])
        self.arm = settings["armEndpoint"].rstrip("/")
        self.token = self._arm_token()

    def _request(self, method: str, url: str, body=None, headers=None, form: bool = False):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            raise Failure(f"{method} {url.split('?')[0]}: HTTP {err.code}: {err.read().decode(errors='replace')}")
        except urllib.error.URLError as err:
            raise Failure(f"{method} {url.split('?')[0]}: {err.reason} (is `pgentra emulator` still running?)")

    def _arm_token(self) -> str:
        s = self.settings
        url = f"{s['authorityHost'].rstrip('/')}/{s['tenantId']}/oauth2/v2.0/token"
        answer = self._request("POST", url, form=True, body={
            "grant_type": "client_credentials", "client_id": s["clientId"],
            "client_secret": s["clientSecret"], "scope": ARM_SCOPE})
        return answer["access_token"]

    def deployer_object_id(self) -> str:
        """The deployer's object ID: the `oid` claim of its own token."""
        payload = self.token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims["oid"]

    def ensure_resource_group(self, name: str, location: str) -> None:
        path = f"/subscriptions/{self.settings['subscriptionId']}/resourcegroups/{name}"
        self._request("PUT", f"{self.arm}{path}?api-version={RESOURCE_GROUP_API}", {"location": location},
                      {"Authorization": f"Bearer {self.token}"})

    def directory(self) -> dict:
        return self._request("GET", f"{self.arm}/_emulator/state")["directory"]

    def ensure_group(self, name: str, members: list[str]) -> str:
        """The object ID of the group named `name`, created (with `members`) when there is none."""
        for group in self.directory().get("groups", []):
            if group.get("displayName") == name:
                missing = [m for m in members if m not in group.get("members", [])]
                if missing:
                    raise Failure(f"the emulator's group {name!r} exists without member(s) {missing}; "
                                  "restart `pgentra emulator` for a fresh directory")
                return group["objectId"]
        return self._request("POST", f"{self.arm}/_emulator/directory/groups",
                             {"displayName": name, "members": members})["objectId"]

    def ensure_user(self, upn: str, display_name: str) -> str:
        for user in self.directory().get("users", []):
            if user.get("userPrincipalName", "").lower() == upn.lower():
                return user["objectId"]
        return self._request("POST", f"{self.arm}/_emulator/directory/users",
                             {"userPrincipalName": upn, "displayName": display_name})["objectId"]


def main(argv=None, environ=None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oidc-issuer", required=True,
                        help="the `OIDC issuer` URL `pgentra emulator` prints (stands in for the AKS cluster's)")
    parser.add_argument("--server-name", default="pg-myapp-dev", help="the server's name (default %(default)s)")
    parser.add_argument("--resource-group", default="rg-myapp-prod", help="default %(default)s")
    parser.add_argument("--location", default="eastus", help="default %(default)s")
    parser.add_argument("--admin-group", default="PG Admins Group", help="default %(default)s")
    parser.add_argument("--readwrite-group", default="myapp-db-readwrite", help="default %(default)s")
    parser.add_argument("--developer", default="developer@yourcompany.com", help="default %(default)s")
    args = parser.parse_args(argv)

    try:
        emulator = Emulator(emulator_settings(os.environ if environ is None else environ))
        emulator.ensure_resource_group(args.resource_group, args.location)
        deployer = emulator.deployer_object_id()
        admin_group = emulator.ensure_group(args.admin_group, [deployer])
        emulator.ensure_group(args.readwrite_group, [])
        emulator.ensure_user(args.developer, "Developer")
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1

    print(f"# prepared: resource group {args.resource_group}; Entra group {args.admin_group!r} "
          f"(members: the deployer {deployer}); group {args.readwrite_group!r}; user {args.developer}", file=sys.stderr)
    config = {
        "serverName": args.server_name,
        "resourceGroupName": args.resource_group,
        "location": args.location,
        "adminGroupName": args.admin_group,
        "adminGroupObjectId": admin_group,
        "readwriteGroupName": args.readwrite_group,
        "developerUpn": args.developer,
        "oidcIssuerUrl": args.oidc_issuer,
        # The emulated server's endpoint is a loopback address: the deployer connects from here.
        "deployerIp": "127.0.0.1",
    }
    for key, value in config.items():
        print(f"pulumi config set {key} {shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
