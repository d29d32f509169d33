"""Every example parses and names only what schema.json has: resource types, functions, object
types, input properties (and all required ones), and the output properties it reads. A doctored
copy of each example with one wrong name is caught, so the check is known to look."""

from __future__ import annotations

import re

import pytest
import yaml

from node_toolchain import node_modules
from schema_names import EXAMPLES, Schema, python_uses, typescript_uses, yaml_uses

YAML_EXAMPLE = EXAMPLES / "yaml" / "Pulumi.yaml"
PYTHON_EXAMPLE = EXAMPLES / "python" / "__main__.py"
TS_EXAMPLE = EXAMPLES / "typescript" / "index.ts"

# Every resource type and function of the schema appears in each example (the whole seed).
WHOLE_SEED = {
    "pgentra:index:FlexibleServer", "pgentra:index:AdAdmin", "pgentra:index:FirewallRule",
    "pgentra:index:Database", "pgentra:index:ManagedIdentity", "pgentra:index:FederatedCredential",
    "pgentra:index:Principal", "pgentra:index:Grant", "pgentra:index:getClientConfig",
}


def read(language: str, text: str | None = None):
    if language == "yaml":
        return yaml_uses(YAML_EXAMPLE, text)
    if language == "python":
        return python_uses(PYTHON_EXAMPLE, text)
    return typescript_uses(TS_EXAMPLE, node_modules(), text)


EXAMPLE_FILE = {"yaml": YAML_EXAMPLE, "python": PYTHON_EXAMPLE, "typescript": TS_EXAMPLE}


@pytest.mark.parametrize("language", ["yaml", "python", "typescript"])
def test_the_example_names_only_what_the_schema_has(language):
    uses = read(language)
    assert Schema().problems(uses) == []
    named = {u.token for u in uses if u.kind in ("resource", "function")}
    assert WHOLE_SEED <= named, f"{language} example leaves out {sorted(WHOLE_SEED - named)}"


# Doctored copies: (what is replaced, by what, the problem the check must report).
DOCTORED = {
    "yaml": [
        ("passwordAuth: Disabled", "passwordAuthentication: Disabled",
         "FlexibleServer has no input property 'passwordAuthentication'"),
        ("type: pgentra:index:AdAdmin", "type: pgentra:index:AdAdministrator",
         "resource type 'pgentra:index:AdAdministrator' is not in schema.json"),
        ("serverFqdn: ${server.fullyQualifiedDomainName}", "serverFqdn: ${server.fqdn}",
         "FlexibleServer has no output property 'fqdn'"),
        ("function: pgentra:index:getClientConfig", "function: pgentra:index:getCallerConfig",
         "function 'pgentra:index:getCallerConfig' is not in schema.json"),
        ("username: ${admin.principalName}", "user: ${admin.principalName}",
         "Connection has no property 'user'"),
        ("      skuName: Standard_D2s_v3\n", "",
         "FlexibleServer is missing its required input 'skuName'"),
        ("deployer: ${client.name}", "deployer: ${client.displayName}",
         "getClientConfig has no output property 'displayName'"),
        ("startIpAddress: ${deployerIp}", "startIpAddress: ${deployerAddress}",
         "no resource, variable or config key 'deployerAddress'"),
    ],
    "python": [
        ("password_auth=", "password_authentication=",
         "FlexibleServer has no input property 'passwordAuthentication'"),
        ("pgentra.AdAdmin(", "pgentra.AdAdministrator(",
         "resource type 'pgentra:index:AdAdministrator' is not in schema.json"),
        ('pulumi.export("serverFqdn", server.fully_qualified_domain_name)',
         'pulumi.export("serverFqdn", server.fqdn)',
         "FlexibleServer has no output property 'fqdn'"),
        ("pgentra.get_client_config()", "pgentra.get_caller_config()",
         "function 'pgentra:index:getCallerConfig' is not in schema.json"),
        ("username=admin.principal_name", "user=admin.principal_name",
         "Connection has no property 'user'"),
        ('    sku_name="Standard_D2s_v3",\n', "",
         "FlexibleServer is missing its required input 'skuName'"),
        ("client.name", "client.display_name",
         "getClientConfig has no output property 'displayName'"),
        ("principal: pgentra.Principal", "principal: pgentra.Principle",
         "resource type 'pgentra:index:Principle' is not in schema.json"),
    ],
    "typescript": [
        ('passwordAuth: "Disabled"', 'passwordAuthentication: "Disabled"',
         "FlexibleServer has no input property 'passwordAuthentication'"),
        ("new pgentra.AdAdmin(", "new pgentra.AdAdministrator(",
         "resource type 'pgentra:index:AdAdministrator' is not in schema.json"),
        ("export const serverFqdn = server.fullyQualifiedDomainName",
         "export const serverFqdn = server.fqdn",
         "FlexibleServer has no output property 'fqdn'"),
        ("pgentra.getClientConfigOutput()", "pgentra.getCallerConfigOutput()",
         "function 'pgentra:index:getCallerConfig' is not in schema.json"),
        ("username: admin.principalName", "user: admin.principalName",
         "Connection has no property 'user'"),
        ('    skuName: "Standard_D2s_v3",\n', "",
         "FlexibleServer is missing its required input 'skuName'"),
        ("client.name", "client.displayName",
         "getClientConfig has no output property 'displayName'"),
        ("principal: pgentra.Principal", "principal: pgentra.Principle",
         "resource type 'pgentra:index:Principle' is not in schema.json"),
    ],
}


@pytest.mark.parametrize("language,old,new,problem", [
    (language, old, new, problem) for language, cases in DOCTORED.items() for old, new, problem in cases
], ids=lambda v: re.sub(r"\W+", "-", v)[:40] if isinstance(v, str) else None)
def test_a_doctored_example_with_a_wrong_name_is_caught(language, old, new, problem):
    text = EXAMPLE_FILE[language].read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the {language} example: update the control"
    problems = Schema().problems(read(language, text.replace(old, new, 1)))
    assert any(problem in p for p in problems), f"expected {problem!r} among {problems}"


BROKEN = {
    "yaml": ("resources:\n", "resources:\n  - broken: [\n"),
    "python": ("def grant_access(", "def grant_access(("),
    "typescript": ("function grantAccess(", "function grantAccess(("),
}


@pytest.mark.parametrize("language", ["yaml", "python", "typescript"])
def test_an_example_that_does_not_parse_fails_the_check(language):
    old, new = BROKEN[language]
    text = EXAMPLE_FILE[language].read_text()
    assert old in text
    with pytest.raises((SyntaxError, yaml.YAMLError)):
        read(language, text.replace(old, new, 1))
