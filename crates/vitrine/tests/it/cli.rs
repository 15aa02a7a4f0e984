//! The command line: `vitrine dashboards import|export` (dashboards as code) and `vitrine api-key …`.

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
    // SQLite data sources live in the data directory unless `data.sqlite_roots` says more.
    std::fs::create_dir_all(&data).unwrap();
    let warehouse = data.join("warehouse.db");
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

#[tokio::test]
async fn api_keys_are_created_listed_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vitrine.toml");
    let data = dir.path().join("data").display().to_string();
    std::fs::write(&config, format!("data_dir = {data:?}\n")).unwrap();
    let config = config.display().to_string();
    let keys = || async {
        let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
        let state = prepare(loaded, Arc::new(SystemClock)).await.unwrap();
        let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
        let keys = state.store.api_keys(workspace).await.unwrap();
        state.store.close().await;
        keys
    };

    run(&[
        "--config",
        &config,
        "user",
        "add",
        "ops@example.com",
        "--role",
        "admin",
    ])
    .await
    .unwrap();
    run(&[
        "--config",
        &config,
        "api-key",
        "create",
        "ops@example.com",
        "deploy",
    ])
    .await
    .unwrap();
    assert!(
        run(&[
            "--config",
            &config,
            "api-key",
            "create",
            "nobody@example.com",
            "x"
        ])
        .await
        .is_err(),
        "no such member"
    );
    assert!(
        run(&[
            "--config",
            &config,
            "api-key",
            "create",
            "ops@example.com",
            "  "
        ])
        .await
        .is_err(),
        "a blank name"
    );
    run(&["--config", &config, "api-key", "list"])
        .await
        .unwrap();
    let created = keys().await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].name, "deploy");
    assert!(created[0].revoked_at.is_none());

    let id = created[0].id.to_string();
    run(&["--config", &config, "api-key", "revoke", &id])
        .await
        .unwrap();
    assert!(keys().await[0].revoked_at.is_some());
    assert!(
        run(&["--config", &config, "api-key", "revoke", &id])
            .await
            .is_err(),
        "already revoked"
    );
}

#[test]
fn link_create_takes_confirm_email_and_its_domains() {
    use vitrine::cli::{Command, LinkCommand};
    let parse = |extra: &[&str]| {
        let args = [
            "vitrine",
            "link",
            "create",
            "--dashboard",
            "sales",
            "--label",
            "Client A",
        ];
        Cli::try_parse_from(args.iter().chain(extra))
    };
    let cli = parse(&[
        "--confirm-email",
        "--domains",
        "@client.com,partner.org",
        "--domains",
        "@eu.client.com",
    ])
    .unwrap();
    let Command::Link(link) = cli.command else {
        panic!("a link command")
    };
    let LinkCommand::Create { access, .. } = link.command else {
        panic!("link create")
    };
    let policy = access.policy().unwrap();
    assert!(policy.confirm_email);
    let domains: Vec<String> = policy
        .email_domains
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(domains, ["@client.com", "@partner.org", "@eu.client.com"]);

    assert!(
        parse(&["--domains", "@client.com"]).is_err(),
        "domains need --confirm-email"
    );
    let cli = parse(&["--confirm-email", "--domains", "client.com\r\nBcc: x"]).unwrap();
    let Command::Link(link) = cli.command else {
        panic!("a link command")
    };
    let LinkCommand::Create { access, .. } = link.command else {
        panic!("link create")
    };
    assert!(access.policy().is_err(), "not a domain");
}

#[tokio::test]
async fn data_rules_are_added_listed_and_removed_from_the_command_line() {
    use vitrine_core::member::Role;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vitrine.toml");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    let config = config.display().to_string();
    run(&[
        "--config",
        &config,
        "user",
        "add",
        "rita@example.com",
        "--role",
        "viewer",
    ])
    .await
    .unwrap();
    // A dataset with a `region` column, so that a rule on it is accepted.
    let warehouse = data.join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE orders (region TEXT, amount REAL)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
    let state = prepare(loaded, Arc::new(SystemClock)).await.unwrap();
    let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
    let source = save_data_source(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DataSourceForm {
            name: "W".into(),
            kind: "sqlite".into(),
            location: warehouse.display().to_string(),
        },
    )
    .await
    .unwrap();
    save_dataset(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DatasetForm {
            data_source_id: source.id,
            slug: "orders".into(),
            name: String::new(),
            sql: "SELECT * FROM orders".into(),
        },
    )
    .await
    .unwrap();
    state.store.close().await;

    let rule = r#"{"column": "region", "op": "=", "value": "EMEA"}"#;
    run(&[
        "--config",
        &config,
        "data-rule",
        "add",
        "--member",
        "rita@example.com",
        rule,
    ])
    .await
    .unwrap();
    run(&[
        "--config",
        &config,
        "data-rule",
        "add",
        "--role",
        "viewer",
        rule,
    ])
    .await
    .unwrap();
    // A column no dataset has, and no such member, are refused.
    for args in [
        vec![
            "data-rule",
            "add",
            "--role",
            "viewer",
            r#"{"column": "regoin", "op": "=", "value": 1}"#,
        ],
        vec!["data-rule", "add", "--member", "nobody@example.com", rule],
        vec!["data-rule", "add", "--role", "viewer", "region = 'EMEA'"],
        vec!["data-rule", "remove", "999"],
    ] {
        let mut all = vec!["--config", config.as_str()];
        all.extend(args.iter().copied());
        assert!(run(&all).await.is_err(), "{args:?}");
    }
    let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
    let state = prepare(loaded, Arc::new(SystemClock)).await.unwrap();
    let rules = state.store.member_rules(workspace).await.unwrap();
    assert_eq!(rules.len(), 2);
    assert!(rules[0].member_id.is_some() && rules[1].role == Some(Role::Viewer));
    state.store.close().await;
    run(&["--config", &config, "data-rule", "list"])
        .await
        .unwrap();
    run(&[
        "--config",
        &config,
        "data-rule",
        "remove",
        &rules[0].id.to_string(),
    ])
    .await
    .unwrap();
    let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
    let state = prepare(loaded, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(state.store.member_rules(workspace).await.unwrap().len(), 1);
    state.store.close().await;
}

#[tokio::test]
async fn report_email_domains_are_set_normalised_and_cleared_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vitrine.toml");
    let data = dir.path().join("data").display().to_string();
    std::fs::write(&config, format!("data_dir = {data:?}\n")).unwrap();
    let config = config.display().to_string();
    let domains = || async {
        let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
        let state = prepare(loaded, Arc::new(SystemClock)).await.unwrap();
        let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
        let domains = state.store.report_email_domains(workspace).await.unwrap();
        state.store.close().await;
        domains
    };

    run(&["--config", &config, "report", "domains"])
        .await
        .unwrap();
    assert!(domains().await.is_empty(), "no list at first: any domain");
    run(&[
        "--config",
        &config,
        "report",
        "domains",
        "@Example.COM",
        "example.org",
        "example.com",
    ])
    .await
    .unwrap();
    assert_eq!(domains().await, vec!["example.com", "example.org"]);
    assert!(
        run(&["--config", &config, "report", "domains", "not a domain"])
            .await
            .is_err(),
        "refused"
    );
    assert_eq!(
        domains().await,
        vec!["example.com", "example.org"],
        "unchanged"
    );
    run(&["--config", &config, "report", "domains", "--clear"])
        .await
        .unwrap();
    assert!(domains().await.is_empty());
}

const USAGE: &str = "version: 1
title: Usage
status: published
filters:
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: region, label: Region, kind: multi_select, columns: {orders: region}}
widgets:
  - id: by-plan
    title: Orders by plan
    kind: bar
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: count}]}
";

#[tokio::test]
async fn embed_enables_shows_mints_revokes_and_disables_and_keeps_what_it_is_not_given() {
    use vitrine_app::embedding::{self, EmbeddingInput, UiConfig};
    use vitrine_app::links::LinkTheme;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vitrine.toml");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    let config = config.display().to_string();
    let warehouse = data.join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE orders (plan TEXT, region TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let open = || async {
        let loaded = vitrine_app::Config::load(Some(config.as_ref()), Vec::new()).unwrap();
        prepare(loaded, Arc::new(SystemClock)).await.unwrap()
    };
    let state = open().await;
    let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
    let source = save_data_source(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DataSourceForm {
            name: "W".into(),
            kind: "sqlite".into(),
            location: warehouse.display().to_string(),
        },
    )
    .await
    .unwrap();
    save_dataset(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DatasetForm {
            data_source_id: source.id,
            slug: "orders".into(),
            name: String::new(),
            sql: "SELECT plan, region FROM orders".into(),
        },
    )
    .await
    .unwrap();
    state.store.close().await;
    let file = dir.path().join("usage.yaml");
    std::fs::write(&file, USAGE).unwrap();
    let c = config.as_str();
    for args in [
        vec!["user", "add", "owner@example.com", "--role", "admin"],
        vec!["dashboards", "import", file.to_str().unwrap()],
    ] {
        let mut all = vec!["--config", c];
        all.extend(args);
        run(&all).await.unwrap();
    }
    // What the store holds for the dashboard's embedding (and how many grants are live).
    let embedded = || async {
        let state = open().await;
        let admin = state
            .store
            .member_by_email("owner@example.com")
            .await
            .unwrap()
            .unwrap();
        let board = state
            .store
            .dashboard_by_slug(workspace, "usage")
            .await
            .unwrap()
            .unwrap()
            .id;
        let view = embedding::show_embedding(&state, &admin, board)
            .await
            .unwrap();
        let grants = embedding::live_grants(&state, &admin, board)
            .await
            .unwrap()
            .len();
        state.store.close().await;
        (view, grants)
    };

    assert!(
        run(&["--config", c, "embed", "show", "usage"])
            .await
            .is_ok(),
        "not embedded yet: said, not an error"
    );
    assert!(embedded().await.0.is_none());
    run(&[
        "--config",
        c,
        "embed",
        "enable",
        "usage",
        "--origin",
        "https://portal.example.com",
    ])
    .await
    .unwrap();
    let (view, _) = embedded().await;
    let view = view.expect("enabled");
    assert!(view.enabled);
    assert_eq!(view.allowed_origins, ["https://portal.example.com"]);
    assert_eq!(
        view.host_filters,
        ["plan", "region"],
        "every filter by default"
    );
    let embed_id = view.id.clone();

    // The owner narrows the UI and the host filters (through the application, as the API and
    // the owner page do)…
    let state = open().await;
    let admin = state
        .store
        .member_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let ui = UiConfig {
        hide_title: true,
        hide_chart_controls: true,
        filters_visible: true,
        filters_expanded: false,
        theme: LinkTheme::Dark,
    };
    embedding::save_embedding(
        &state,
        &admin,
        vitrine_core::id::DashboardId(view.dashboard_id),
        EmbeddingInput {
            allowed_origins: vec!["https://portal.example.com".into()],
            ui: Some(ui.clone()),
            host_filters: Some(vec!["plan".into()]),
            enabled: Some(true),
        },
    )
    .await
    .unwrap();
    state.store.close().await;
    // …and `embed enable` with new origins changes the origins only.
    run(&[
        "--config",
        c,
        "embed",
        "enable",
        "usage",
        "--origin",
        "https://app.example.org",
        "--origin",
        "https://portal.example.com",
    ])
    .await
    .unwrap();
    let (view, _) = embedded().await;
    let view = view.unwrap();
    assert_eq!(view.id, embed_id, "the embed id stays");
    assert_eq!(
        view.allowed_origins,
        ["https://app.example.org", "https://portal.example.com"]
    );
    assert_eq!(view.ui, ui, "the saved UI configuration is kept");
    assert_eq!(
        view.host_filters,
        ["plan"],
        "the saved host filters are kept"
    );

    // A test token (a clause rule; an unknown column is refused), then revoke every grant.
    run(&["--config", c, "embed", "show", "usage"])
        .await
        .unwrap();
    run(&[
        "--config",
        c,
        "embed",
        "token",
        "usage",
        "--rule",
        "plan = 'Pro'",
    ])
    .await
    .unwrap();
    run(&[
        "--config",
        c,
        "embed",
        "token",
        "usage",
        "--expires-in",
        "60",
    ])
    .await
    .unwrap();
    let error = run(&[
        "--config",
        c,
        "embed",
        "token",
        "usage",
        "--rule",
        "tenant = 'A'",
    ])
    .await
    .unwrap_err();
    assert!(format!("{error:#}").contains("tenant"), "{error:#}");
    assert_eq!(embedded().await.1, 2);
    run(&["--config", c, "embed", "revoke-all", "usage"])
        .await
        .unwrap();
    assert_eq!(embedded().await.1, 0);

    // Disabling keeps everything else; a disabled embedding mints nothing.
    run(&["--config", c, "embed", "disable", "usage"])
        .await
        .unwrap();
    let (view, _) = embedded().await;
    let view = view.unwrap();
    assert!(!view.enabled);
    assert_eq!(view.ui, ui);
    assert_eq!(view.host_filters, ["plan"]);
    assert!(
        run(&["--config", c, "embed", "token", "usage"])
            .await
            .is_err(),
        "turned off"
    );
    for args in [
        vec!["embed", "show", "nope"],
        vec!["embed", "enable", "usage", "--origin", "*"],
        vec!["embed", "revoke-all", "nope"],
        vec!["embed", "show", "usage", "--as", "nobody@example.com"],
    ] {
        let mut all = vec!["--config", c];
        all.extend(args.iter().copied());
        assert!(run(&all).await.is_err(), "{args:?}");
    }

    // Every change is in the audit trail, by the acting member.
    let state = open().await;
    let actions: Vec<String> = state
        .store
        .audit_events(workspace, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    state.store.close().await;
    for action in [
        "embedding.enabled",
        "embedding.updated",
        "guest_grants.revoked_all",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[test]
fn link_create_and_link_access_take_the_view_limit_networks_and_cost_caps() {
    use vitrine::cli::{Command, LinkCommand};
    let caps = [
        "--max-views",
        "25",
        "--allow-network",
        "203.0.113.0/24",
        "--allow-network",
        "2001:db8::/48",
        "--max-live-viewers",
        "3",
        "--max-live-viewers-per-client",
        "1",
        "--max-new-views-per-minute",
        "40",
        "--max-new-views-per-minute-per-client",
        "7",
    ];
    let create = [
        "vitrine",
        "link",
        "create",
        "--dashboard",
        "sales",
        "--label",
        "Office",
    ];
    let access = ["vitrine", "link", "access", "lnk_1"];
    for head in [&create[..], &access[..]] {
        let cli = Cli::try_parse_from(head.iter().chain(&caps)).unwrap();
        let Command::Link(link) = cli.command else {
            panic!("a link command")
        };
        let args = match link.command {
            LinkCommand::Create { access, .. } => access,
            LinkCommand::Access { id, access } => {
                assert_eq!(id, "lnk_1");
                access
            }
            other => panic!("{other:?}"),
        };
        let policy = args.policy().unwrap();
        assert_eq!(policy.max_views, Some(25));
        let networks: Vec<String> = policy
            .allowed_networks
            .iter()
            .map(|n| {
                serde_json::to_value(n)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(networks, ["203.0.113.0/24", "2001:db8::/48"]);
        assert_eq!(policy.max_live_viewers, Some(3));
        assert_eq!(policy.max_live_viewers_per_client, Some(1));
        assert_eq!(policy.max_new_views_per_minute, Some(40));
        assert_eq!(policy.max_new_views_per_minute_per_client, Some(7));
    }
    assert!(
        Cli::try_parse_from(access.iter().chain(&["--max-views", "-1"])).is_err(),
        "not a count"
    );
    let cli =
        Cli::try_parse_from(access.iter().chain(&["--allow-network", "not a network"])).unwrap();
    let Command::Link(link) = cli.command else {
        panic!("a link command")
    };
    let LinkCommand::Access { access, .. } = link.command else {
        panic!("link access")
    };
    assert!(access.policy().is_err(), "not a network");
}

#[tokio::test]
async fn link_access_sets_and_clears_a_links_policy_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("vitrine.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let warehouse = data.join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE orders (plan TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let load = || vitrine_app::Config::load(Some(&config), Vec::new()).unwrap();
    let state = prepare(load(), Arc::new(SystemClock)).await.unwrap();
    let workspace = state.store.default_workspace().await.unwrap().unwrap().id;
    let source = save_data_source(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DataSourceForm {
            name: "W".into(),
            kind: "sqlite".into(),
            location: warehouse.display().to_string(),
        },
    )
    .await
    .unwrap();
    save_dataset(
        &state,
        &Editor::Cli,
        workspace,
        None,
        &DatasetForm {
            data_source_id: source.id,
            slug: "orders".into(),
            name: String::new(),
            sql: "SELECT plan FROM orders".into(),
        },
    )
    .await
    .unwrap();
    state.store.close().await;
    let file = dir.path().join("sales.yaml");
    // Links are only made to published dashboards.
    std::fs::write(
        &file,
        SALES.replace("title: Sales\n", "title: Sales\nstatus: published\n"),
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config", config_arg.as_str()];
        all.extend(args.iter().copied());
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run_owned = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args).await
    };
    run_owned(cli(&[
        "user",
        "add",
        "admin@example.com",
        "--role",
        "admin",
    ]))
    .await
    .unwrap();
    run_owned(cli(&["dashboards", "import", &file.display().to_string()]))
        .await
        .unwrap();
    run_owned(cli(&[
        "link",
        "create",
        "--dashboard",
        "sales",
        "--label",
        "Office",
        "--expires",
        "never",
        "--max-views",
        "25",
        "--allow-network",
        "203.0.113.0/24",
        "--max-live-viewers",
        "3",
        "--max-new-views-per-minute-per-client",
        "7",
    ]))
    .await
    .unwrap();
    let policy = || async {
        let state = prepare(load(), Arc::new(SystemClock)).await.unwrap();
        let links = state.store.links(workspace, None).await.unwrap();
        state.store.close().await;
        assert_eq!(links.len(), 1);
        let settings = vitrine_app::links::LinkSettings::of(&links[0]).unwrap();
        (
            links[0].id.clone(),
            serde_json::to_value(settings.access).unwrap(),
        )
    };
    let (id, access) = policy().await;
    assert_eq!(access["max_views"], 25, "{access}");
    assert_eq!(
        access["allowed_networks"],
        serde_json::json!(["203.0.113.0/24"])
    );
    assert_eq!(access["max_live_viewers"], 3);
    assert_eq!(access["max_new_views_per_minute_per_client"], 7);

    // `link access` sets what it is given and clears what it is not.
    run_owned(cli(&[
        "link",
        "access",
        &id,
        "--max-views",
        "5",
        "--allow-network",
        "2001:db8::/48",
    ]))
    .await
    .unwrap();
    let (_, access) = policy().await;
    assert_eq!(access["max_views"], 5, "{access}");
    assert_eq!(
        access["allowed_networks"],
        serde_json::json!(["2001:db8::/48"])
    );
    assert!(access["max_live_viewers"].is_null(), "{access}");
    assert!(access["max_new_views_per_minute_per_client"].is_null());

    // A bad network changes nothing.
    assert!(
        run_owned(cli(&[
            "link",
            "access",
            &id,
            "--allow-network",
            "10.0.0.0/99"
        ]))
        .await
        .is_err()
    );
    let (_, unchanged) = policy().await;
    assert_eq!(unchanged, access);

    run_owned(cli(&["link", "access", &id])).await.unwrap();
    let (_, access) = policy().await;
    assert!(access["max_views"].is_null(), "{access}");
    assert!(
        access["allowed_networks"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{access}"
    );
}

/// A link id is base64url: one in 64 starts with `-`, and every link command must take it as
/// the id, not as an option (a flaky `link access` test found this).
#[test]
fn a_link_id_that_starts_with_a_dash_is_an_id() {
    use vitrine::cli::{Cli, Command, LinkCommand};
    for command in ["show", "disable", "enable", "rotate", "delete", "access"] {
        let cli = Cli::try_parse_from(["vitrine", "link", command, "-VaZOq8Ub8WwgpCeCdneHQ"])
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        let Command::Link(link) = cli.command else {
            panic!("a link command")
        };
        let id = match link.command {
            LinkCommand::Show { id }
            | LinkCommand::Disable { id }
            | LinkCommand::Enable { id }
            | LinkCommand::Rotate { id }
            | LinkCommand::Delete { id }
            | LinkCommand::Access { id, .. } => id,
            other => panic!("{other:?}"),
        };
        assert_eq!(id, "-VaZOq8Ub8WwgpCeCdneHQ", "{command}");
    }
    let cli = Cli::try_parse_from([
        "vitrine",
        "link",
        "access",
        "-VaZOq8Ub8WwgpCeCdneHQ",
        "--max-views",
        "3",
    ])
    .unwrap();
    let Command::Link(link) = cli.command else {
        panic!("a link command")
    };
    let LinkCommand::Access { id, access } = link.command else {
        panic!("access")
    };
    assert_eq!(
        (id.as_str(), access.max_views),
        ("-VaZOq8Ub8WwgpCeCdneHQ", Some(3))
    );
}
