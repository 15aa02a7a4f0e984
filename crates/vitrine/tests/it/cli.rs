//! `vitrine dashboards import|export`: dashboards as code.

use std::sync::Arc;

use clap::Parser as _;
use vitrine::cli::Cli;
use vitrine_app::content::{DataSourceForm, DatasetForm, Editor, save_data_source, save_dataset};
use vitrine_app::prepare;
use vitrine_core::clock::SystemClock;

const SALES: &str = "# Dashboards as code keep their comments.
version: 1
title: Sales
widgets:
  - id: by-plan
    title: Orders by plan
    kind: bar
    layout: {x: 0, y: 0, w: 12, h: 4}
    query:
      dataset: orders
      dimensions:
        - column: plan
      measures:
        - agg: count
";

async fn run(args: &[&str]) -> anyhow::Result<()> {
    Cli::try_parse_from(std::iter::once("vitrine").chain(args.iter().copied()))?
        .run()
        .await
}

#[tokio::test]
async fn dashboards_round_trip_through_files_and_a_bad_file_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("vitrine.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    let warehouse = dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE orders (plan TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let config_loaded = vitrine_app::Config::load(Some(&config), Vec::new()).unwrap();
    let state = prepare(config_loaded, Arc::new(SystemClock)).await.unwrap();
    let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
    let form = DataSourceForm {
        name: "W".into(),
        kind: "sqlite".into(),
        location: warehouse.display().to_string(),
    };
    let source = save_data_source(&state, &Editor::Cli, workspace, None, &form)
        .await
        .unwrap();
    let dataset = DatasetForm {
        data_source_id: source.id,
        slug: "orders".into(),
        name: String::new(),
        sql: "SELECT plan FROM orders".into(),
    };
    save_dataset(&state, &Editor::Cli, workspace, None, &dataset)
        .await
        .unwrap();
    state.store.close().await;

    let file = dir.path().join("sales.yaml");
    std::fs::write(&file, SALES).unwrap();
    let config = config.display().to_string();
    run(&[
        "--config",
        &config,
        "dashboards",
        "import",
        &file.display().to_string(),
    ])
    .await
    .unwrap();
    run(&[
        "--config",
        &config,
        "dashboards",
        "import",
        &file.display().to_string(),
    ])
    .await
    .expect("importing again updates");

    let bad = dir.path().join("broken.yaml");
    std::fs::write(&bad, SALES.replace("column: plan", "column: nope")).unwrap();
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, SALES.replace("Sales", "Other")).unwrap();
    let error = run(&[
        "--config",
        &config,
        "dashboards",
        "import",
        &other.display().to_string(),
        &bad.display().to_string(),
    ])
    .await
    .unwrap_err();
    assert!(format!("{error:#}").contains("nope"), "{error:#}");

    let out = dir.path().join("out");
    run(&[
        "--config",
        &config,
        "dashboards",
        "export",
        "--out",
        &out.display().to_string(),
    ])
    .await
    .unwrap();
    let exported: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(exported, ["sales.yaml"], "the bad batch saved nothing");
    assert_eq!(
        std::fs::read_to_string(out.join("sales.yaml")).unwrap(),
        SALES,
        "exported as written, comments and all"
    );
}
