//! Start-up: the server key and the data directory.

use std::sync::Arc;

use vitrine_app::Config;
use vitrine_app::prepare;
use vitrine_core::clock::SystemClock;

#[tokio::test]
async fn an_unwritable_data_directory_without_a_key_refuses_to_start_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let config = Config {
        data_dir: file.join("data"),
        ..Config::default()
    };
    let error = prepare(config, Arc::new(SystemClock)).await.unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("no server key is configured and none could be written"),
        "{message}"
    );
    assert!(message.contains("VITRINE_SERVER_KEY"), "{message}");
}

#[tokio::test]
async fn two_instances_on_one_data_directory_share_the_generated_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let first = prepare(config.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let second = prepare(config, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(
        first.keys.csrf.sign(&[b"x"]),
        second.keys.csrf.sign(&[b"x"]),
        "the same key signs the same"
    );
    let workspaces = first.store.default_workspace().await.unwrap().unwrap();
    assert_eq!(
        second.store.default_workspace().await.unwrap().unwrap(),
        workspaces,
        "one workspace, created once"
    );
}
