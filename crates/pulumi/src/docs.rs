//! The Pulumi registry's package pages, `_index.md` (what the package is, with an example in
//! every language) and `installation-configuration.md` (the SDKs, the plugin, the provider's
//! configuration), from the schema `pgentra schema` renders and the core's examples. The per-type
//! API docs the registry builds from the schema's descriptions themselves.

use crate::example_code::{self, LANGUAGES, NODEJS_PACKAGE, PYTHON_PACKAGE};
use crate::schema::{self, PACKAGE};
use pgentra_core::config::CONFIG;
use pgentra_core::resource::Registry;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The example the package's index page opens with: a server and a Grant on it.
const INDEX_EXAMPLE: &str = "pgentra:index:Grant";

/// Both pages by their path relative to `docs/`.
pub fn generate(registry: &Registry) -> BTreeMap<PathBuf, String> {
    let schema = schema::generate(registry);
    let description = schema["description"].as_str().unwrap_or_default();
    let version = schema["version"].as_str().unwrap_or_default();
    let mut pages = BTreeMap::new();
    pages.insert(
        PathBuf::from("_index.md"),
        index_page(registry, description),
    );
    pages.insert(
        PathBuf::from("installation-configuration.md"),
        installation_page(
            version,
            schema["provider"]["description"]
                .as_str()
                .unwrap_or_default(),
        ),
    );
    pages
}

fn front_matter(title: &str, meta_desc: &str) -> String {
    format!("---\ntitle: {title}\nmeta_desc: {meta_desc}\nlayout: package\n---\n\n")
}

fn index_page(registry: &Registry, description: &str) -> String {
    let first = description.split(": ").next().unwrap_or(description);
    let mut out = front_matter("pgentra", &format!("{first}."));
    let _ = write!(out, "{description}\n\n## Example\n\n");
    let _ = writeln!(
        out,
        "{{{{< chooser language \"{}\" >}}}}",
        LANGUAGES.join(",")
    );
    if let Some(example) = pgentra_core::examples::for_token(INDEX_EXAMPLE).next() {
        for language in LANGUAGES {
            let _ = write!(
                out,
                "{{{{% choosable language {language} %}}}}\n\n```{language}\n{}```\n\n{{{{% /choosable %}}}}\n",
                example_code::render(registry, example, language)
            );
        }
    }
    out.push_str("{{< /chooser >}}\n");
    out
}

fn installation_page(version: &str, provider_description: &str) -> String {
    let mut out = front_matter(
        "pgentra Installation & Configuration",
        "How to install the pgentra provider and configure how it signs in to Azure.",
    );
    let _ = write!(
        out,
        "## Installation\n\nThe pgentra provider is available as a package in these Pulumi languages:\n\n\
* JavaScript/TypeScript: [`{NODEJS_PACKAGE}`](https://www.npmjs.com/package/{NODEJS_PACKAGE})\n\
* Python: [`{PYTHON_PACKAGE}`](https://pypi.org/project/{PYTHON_PACKAGE}/)\n\
* YAML: no package; the programs name the types (`{PACKAGE}:index:FlexibleServer`)\n\n\
The engine runs the provider plugin `pulumi-resource-{PACKAGE}`; to install version {version} from a file:\n\n\
```sh\npulumi plugin install resource {PACKAGE} {version} --file pulumi-resource-{PACKAGE}\n```\n\n\
## Configuration\n\n{provider_description} Resources that reach PostgreSQL (Principal, Grant) sign in \
with a fresh Microsoft Entra token for the deployer: there is no password to configure.\n\n\
Each setting is stack configuration under the `{PACKAGE}:` namespace, or else the first of its environment \
variables that is set:\n\n```sh\npulumi config set {PACKAGE}:subscriptionId 00000000-0000-0000-0000-000000000000\n\
pulumi config set --secret {PACKAGE}:clientSecret '<secret>'\n```\n\n\
| Setting | Environment variables | Description |\n|---|---|---|\n"
    );
    for property in CONFIG {
        let environment: Vec<String> = property.env.iter().map(|e| format!("`{e}`")).collect();
        let mut description = property.doc.replace('|', "\\|");
        if let Some(default) = property.default {
            let value = default.to_json();
            let shown = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            let _ = write!(description, " Defaults to `{shown}`.");
        }
        if property.secret {
            description.push_str(" Secret.");
        }
        let _ = writeln!(
            out,
            "| `{PACKAGE}:{}` | {} | {description} |",
            property.name,
            environment.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_pages_have_the_registrys_front_matter_and_every_setting() {
        let pages = generate(&Registry::builtin());
        let index = &pages[&PathBuf::from("_index.md")];
        assert!(
            index.starts_with("---\ntitle: pgentra\nmeta_desc: "),
            "{index}"
        );
        assert!(index.contains("layout: package\n---\n"), "{index}");
        assert!(
            index.contains("{{% choosable language python %}}\n\n```python\nimport pulumi\n"),
            "{index}"
        );
        let installation = &pages[&PathBuf::from("installation-configuration.md")];
        for property in CONFIG {
            assert!(
                installation.contains(&format!("| `pgentra:{}` |", property.name)),
                "{}",
                property.name
            );
        }
        assert!(
            installation.contains("`AZURE_CLIENT_SECRET`"),
            "{installation}"
        );
    }
}
