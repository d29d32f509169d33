//! The subscription from `az account show` when the provider's configuration names none, as
//! the resources and getClientConfig see it. Its own test binary: it puts a fake `az` on the
//! process's PATH.

mod azure_support;
mod cli_support;

use cli_support::FakeAz;
use pgentra::azure::Azure;
use pgentra::config::ProviderConfig;

#[test]
fn the_cli_subscription_is_asked_for_once_when_first_needed_and_only_when_none_is_set() {
    let az = FakeAz::new(
        "11111111-2222-3333-4444-555555555555",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        &[],
    );
    std::env::set_var("PATH", az.path());
    let azure = Azure::from_config(&ProviderConfig::default()).unwrap();
    assert!(
        az.calls().is_empty(),
        "az is not run before a subscription is needed"
    );
    assert_eq!(
        azure.subscription_id(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        azure.subscription_id(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(az.calls(), ["account show --output json"], "run once");

    let configured = Azure::from_config(&ProviderConfig {
        subscription_id: Some("00000000-0000-0000-0000-0000000000aa".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        configured.subscription_id(),
        Some("00000000-0000-0000-0000-0000000000aa")
    );
    assert_eq!(
        az.calls().len(),
        1,
        "a configured subscription wins; az is not asked"
    );

    // No az on PATH: no subscription (the resources then say how to set one).
    std::env::set_var("PATH", cli_support::SYSTEM_PATH);
    let without = Azure::from_config(&ProviderConfig::default()).unwrap();
    assert_eq!(without.subscription_id(), None);
}
