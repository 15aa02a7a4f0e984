//! # The demo warehouse
//!
//! `vitrine demo` needs something worth sharing: a SQLite file that looks like the analytics
//! database of a small SaaS company, whose numbers move while someone watches. This module
//! builds that file ([`create`]), keeps it moving ([`append`], [`spawn_appender`]), and ships
//! the datasets and dashboards that read it ([`datasets`], [`dashboards`]).
//!
//! ## What the data models
//!
//! A B2B SaaS selling seats on three plans (Starter $12, Growth $29, Enterprise $49 per seat
//! and month) in three regions (AMER, EMEA, APAC), over the 18 calendar months up to `now`:
//!
//! | table | one row per | why it is there |
//! |---|---|---|
//! | `customers` | paying customer: name, plan, region, country, seats, `signed_up_at`, `churned_at` | the `customer_id` every other table refers to; row-level rules in later issues restrict on it |
//! | `signups` | trial sign-up: time, plan, region, country, channel, `converted`, `customer_id` when it converted | growth and funnel charts; `AVG(converted)` is the conversion rate |
//! | `revenue` | invoice line: `booked_at`, `month`, customer, plan and region *when billed*, `kind` (`subscription`, `expansion`, `add_on`, `services`), seats, `amount_usd` | MRR by plan and region; expansion and churn show in it |
//! | `usage` | customer and day: `active_users`, `api_calls`, `storage_gb` | per-customer product usage, the natural target of a per-customer share link |
//! | `tickets` | support ticket: opened / closed, priority, category, status, `first_response_minutes`, `satisfaction` | a support dashboard with durations and ratings |
//!
//! The shapes are the ones real dashboards show: trials grow about 2.5 % a month with
//! seasonality (slow Augusts and Christmases, busy autumns) and quiet weekends; roughly 1 % of
//! trials convert, better from referrals and partners; customers churn monthly (Starter most,
//! Enterprise least, more in January), add seats at renewals and upgrade plans; usage follows
//! a daily wave and weekends; the support team answers faster over the window. Everything is
//! derived from one seed ([`DEFAULT_SEED`]), so a given `now` always gives the same warehouse
//! and tests can count on it.
//!
//! ## How it moves
//!
//! One simulation (the private `sim` module) produces both the history and the live ticks:
//! time is cut into slices that never cross a UTC midnight, whole days when creating or
//! catching up, a few seconds when ticking. Cumulative daily values (active users, API
//! calls, storage) are pure functions of customer, day and time of day, so the appender
//! *upserts* today's usage row and every refresh shows larger numbers. Discrete events (sign-ups, tickets, add-on sales) run
//! faster on live ticks — about one every 20–40 s — until today holds a normal day plus an
//! hour or two of that pace, so a five-minute demo sees movement and a demo left running for
//! a day stays plausible. A ticket's answer and resolution times are drawn when it opens and
//! kept in the private table `_demo_pending` until they come; the meta table `_demo_meta`
//! remembers up to when the warehouse is generated, so [`append`] always continues exactly
//! where the last call stopped — a demo restarted after a week catches up the week at the
//! normal pace.
//!
//! ## Files and locking
//!
//! The file is in WAL mode: the appender is its only writer (one short `BEGIN IMMEDIATE`
//! transaction per tick) and Vitrine's data sources open it read-only without ever waiting
//! for it. Dates are ISO text (`2026-11-23`, `2026-11-23T10:00:00Z`) in columns declared
//! `DATE` / `DATETIME`, which is what the data layer discovers and buckets.
//!
//! ## Size
//!
//! About 360 customers, 26,000 sign-ups, 5,000 invoice lines, 110,000 usage rows and 6,400
//! tickets: a 10 MB file that [`create`] writes in about 1.7 s in a debug build on a busy
//! 2-core machine (0.5 s simulating, the rest in SQLite). In the same build, each demo
//! dashboard's nine widgets run one after the other in 40–270 ms (`usage` is the heaviest).
//! Rows are written as multi-row `INSERT`s and the indexes are built after the bulk load.

mod content;
mod sim;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, Row as _, SqliteConnection};
use time::OffsetDateTime;
use vitrine_core::clock::Clock;

pub use content::{DemoDashboard, DemoDataset, dashboards, datasets};

use sim::{Customer, DAY, Plan, Rows, Ticket, TodayCounts, World, iso_ts, lit, parse_ts};

/// The seed [`create`] uses.
pub const DEFAULT_SEED: u64 = 0x0056_4954_5249_4E45; // "VITRINE"
/// How many calendar months of history [`create`] generates before `now`'s month.
pub const HISTORY_MONTHS: i32 = 18;
/// The layout version of the warehouse; [`open_or_create`] rebuilds files of another version.
pub const WAREHOUSE_VERSION: i64 = 1;
/// Gaps up to this long are treated as live ticks (faster discrete events, see the module
/// docs); longer gaps are caught up at the historical pace.
pub const LIVE_GAP: Duration = Duration::from_secs(300);

/// What one [`append`] added or changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// New trial sign-ups.
    pub signups: u64,
    /// Sign-ups that converted into customers.
    pub new_customers: u64,
    /// Customers that churned.
    pub churned: u64,
    /// New invoice lines (subscriptions, expansions, add-ons, onboarding).
    pub revenue_rows: u64,
    /// Usage rows written (today's rows are rewritten with the day's running totals).
    pub usage_rows: u64,
    /// Tickets opened.
    pub tickets_opened: u64,
    /// Tickets that got their first answer.
    pub tickets_responded: u64,
    /// Tickets solved.
    pub tickets_closed: u64,
}

impl AppendStats {
    /// Rows that did not exist before: sign-ups, customers, invoice lines and tickets.
    pub fn new_rows(&self) -> u64 {
        self.signups + self.new_customers + self.revenue_rows + self.tickets_opened
    }
}

const SCHEMA: &str = "
CREATE TABLE customers (
    customer_id  INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    plan         TEXT NOT NULL,
    region       TEXT NOT NULL,
    country      TEXT NOT NULL,
    seats        INTEGER NOT NULL,
    signed_up_at DATETIME NOT NULL,
    churned_at   DATETIME
);
CREATE TABLE signups (
    signup_id    INTEGER PRIMARY KEY,
    signed_up_at DATETIME NOT NULL,
    plan         TEXT NOT NULL,
    region       TEXT NOT NULL,
    country      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    converted    INTEGER NOT NULL,
    customer_id  INTEGER REFERENCES customers (customer_id)
);
CREATE TABLE revenue (
    invoice_id  INTEGER PRIMARY KEY,
    booked_at   DATETIME NOT NULL,
    month       DATE NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    plan        TEXT NOT NULL,
    region      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    seats       INTEGER NOT NULL,
    amount_usd  REAL NOT NULL
);
CREATE TABLE usage (
    day          DATE NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers (customer_id),
    active_users INTEGER NOT NULL,
    api_calls    INTEGER NOT NULL,
    storage_gb   REAL NOT NULL,
    PRIMARY KEY (day, customer_id)
) WITHOUT ROWID;
CREATE TABLE tickets (
    ticket_id              INTEGER PRIMARY KEY,
    opened_at              DATETIME NOT NULL,
    closed_at              DATETIME,
    customer_id            INTEGER NOT NULL REFERENCES customers (customer_id),
    priority               TEXT NOT NULL,
    category               TEXT NOT NULL,
    status                 TEXT NOT NULL,
    first_response_minutes INTEGER,
    satisfaction           INTEGER
);
CREATE TABLE _demo_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE _demo_pending (
    ticket_id        INTEGER PRIMARY KEY,
    respond_at       DATETIME NOT NULL,
    response_minutes INTEGER NOT NULL,
    close_at         DATETIME NOT NULL,
    rating           INTEGER
);
";

/// Indexes for the columns dashboards filter and group on (and the appender counts by),
/// created after the bulk load.
const INDEXES: &str = "
CREATE INDEX signups_signed_up_at ON signups (signed_up_at);
CREATE INDEX signups_customer_id ON signups (customer_id);
CREATE INDEX revenue_booked_at ON revenue (booked_at);
CREATE INDEX revenue_customer_id ON revenue (customer_id, booked_at);
CREATE INDEX usage_customer_id ON usage (customer_id, day);
CREATE INDEX tickets_opened_at ON tickets (opened_at);
CREATE INDEX tickets_customer_id ON tickets (customer_id, opened_at);
";

fn connect_options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates (or replaces) the demo warehouse at `path` with [`HISTORY_MONTHS`] of history up
/// to `now`, from [`DEFAULT_SEED`].
///
/// The file is built next to `path` and renamed over it, so a half-built warehouse is never
/// seen; data sources that had the old file open should be reopened.
pub async fn create(path: &Path, now: OffsetDateTime) -> anyhow::Result<()> {
    create_seeded(path, now, DEFAULT_SEED).await
}

/// [`create`] with another seed: a different, equally plausible company.
pub async fn create_seeded(path: &Path, now: OffsetDateTime, seed: u64) -> anyhow::Result<()> {
    let building = sidecar(path, ".building");
    for p in [
        building.clone(),
        sidecar(&building, "-wal"),
        sidecar(&building, "-shm"),
    ] {
        remove_if_exists(&p)?;
    }
    let mut conn = SqliteConnection::connect_with(&connect_options(&building, true))
        .await
        .with_context(|| format!("cannot create {}", building.display()))?;
    let now_ts = now.unix_timestamp();
    let origin = sim::month_start(now_ts, -HISTORY_MONTHS);
    let mut world = World::new(seed, origin);
    let mut rows = Rows::default();
    let mut stats = AppendStats::default();

    // Customers are written after the rows that name them, and the indexes that would make
    // deferred checks cheap come after the bulk load: references are checked once, at the end.
    conn.execute("PRAGMA foreign_keys = OFF").await?;
    let mut tx = conn.begin().await?;
    tx.execute(SCHEMA).await?;
    let mut day = origin;
    while day < now_ts {
        let end = (day + DAY).min(now_ts);
        world.simulate(day, end, None, &mut rows);
        // Usage is the bulk; write it as it comes so memory stays flat.
        if rows.usage.len() > 20_000 {
            flush_rows(&mut tx, &mut rows, &mut stats).await?;
        }
        day += DAY;
    }
    flush_rows(&mut tx, &mut rows, &mut stats).await?;
    write_world(&mut tx, &world).await?;
    tx.execute(INDEXES).await?;
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *tx)
        .await?;
    anyhow::ensure!(
        broken.is_empty(),
        "the generated warehouse has {} dangling references",
        broken.len()
    );
    for (key, value) in [
        ("version", WAREHOUSE_VERSION.to_string()),
        ("seed", seed.to_string()),
        ("origin", iso_ts(origin)),
        ("generated_until", iso_ts(now_ts)),
    ] {
        sqlx::query("INSERT INTO _demo_meta (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    conn.execute("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE)")
        .await?;
    conn.close().await?;

    for p in [sidecar(path, "-wal"), sidecar(path, "-shm")] {
        remove_if_exists(&p)?;
    }
    std::fs::rename(&building, path)
        .with_context(|| format!("cannot move the warehouse to {}", path.display()))?;
    for p in [sidecar(&building, "-wal"), sidecar(&building, "-shm")] {
        remove_if_exists(&p)?;
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Continues the warehouse at `path` from where it was last generated up to `now`: the
/// sign-ups, usage, invoices and ticket activity of that stretch. Gaps up to [`LIVE_GAP`] are
/// live ticks (see the module docs); longer gaps are caught up day by day. Calling it with a
/// `now` that is not later than the last call changes nothing.
pub async fn append(path: &Path, now: OffsetDateTime) -> anyhow::Result<AppendStats> {
    let mut conn = SqliteConnection::connect_with(&connect_options(path, false))
        .await
        .with_context(|| format!("cannot open the demo warehouse {}", path.display()))?;
    let stats = append_on(&mut conn, now).await;
    conn.close().await?;
    stats
}

/// [`create`]s the warehouse when `path` holds none (or one of another layout version), and
/// otherwise [`append`]s up to `now`, so a restarted demo keeps its history.
pub async fn open_or_create(path: &Path, now: OffsetDateTime) -> anyhow::Result<()> {
    if path.exists() && version_of(path).await.ok().flatten() == Some(WAREHOUSE_VERSION) {
        append(path, now).await?;
    } else {
        create(path, now).await?;
    }
    Ok(())
}

async fn version_of(path: &Path) -> anyhow::Result<Option<i64>> {
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(10)),
    )
    .await?;
    let v: Option<String> =
        sqlx::query_scalar("SELECT value FROM _demo_meta WHERE key = 'version'")
            .fetch_optional(&mut conn)
            .await?;
    conn.close().await?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// Appends to the warehouse at `path` every `every`, with `now` from `clock`, until the
/// process ends (or the handle is aborted). Failures are logged and retried on the next tick.
///
/// The first tick runs at once. Call [`open_or_create`] before, so that a long catch-up does
/// not happen inside the first tick.
pub fn spawn_appender(
    path: PathBuf,
    clock: Arc<dyn Clock>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match append(&path, clock.now()).await {
                Ok(stats) => tracing::debug!(?stats, "demo warehouse ticked"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "demo warehouse tick failed"),
            }
        }
    })
}

async fn meta(conn: &mut SqliteConnection, key: &str) -> anyhow::Result<String> {
    sqlx::query_scalar("SELECT value FROM _demo_meta WHERE key = ?")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .with_context(|| format!("the demo warehouse has no `{key}`; recreate it"))
}

async fn append_on(
    conn: &mut SqliteConnection,
    now: OffsetDateTime,
) -> anyhow::Result<AppendStats> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    tx.execute("PRAGMA defer_foreign_keys = ON").await?;
    let seed: u64 = meta(&mut tx, "seed").await?.parse()?;
    let origin = parse_ts(&meta(&mut tx, "origin").await?).context("bad origin")?;
    let from = parse_ts(&meta(&mut tx, "generated_until").await?).context("bad mark")?;
    let to = now.unix_timestamp();
    let mut stats = AppendStats::default();
    if to <= from {
        tx.rollback().await?;
        return Ok(stats);
    }
    let mut world = load_world(&mut tx, seed, origin).await?;
    let live = to - from <= LIVE_GAP.as_secs() as i64;
    let mut today = if live {
        Some(today_counts(&mut tx, from).await?)
    } else {
        None
    };
    let mut rows = Rows::default();
    let mut a = from;
    while a < to {
        let midnight = (a.div_euclid(DAY) + 1) * DAY;
        let b = midnight.min(to);
        if live && a % DAY == 0 {
            // A new day: its live allowance starts afresh.
            today = Some(TodayCounts::default());
        }
        world.simulate(a, b, today.as_mut(), &mut rows);
        if rows.usage.len() > 20_000 {
            flush_rows(&mut tx, &mut rows, &mut stats).await?;
        }
        a = b;
    }
    flush_rows(&mut tx, &mut rows, &mut stats).await?;
    write_world(&mut tx, &world).await?;
    sqlx::query("UPDATE _demo_meta SET value = ? WHERE key = 'generated_until'")
        .bind(iso_ts(to))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(stats)
}

async fn today_counts(conn: &mut SqliteConnection, at: i64) -> anyhow::Result<TodayCounts> {
    let start = iso_ts(at.div_euclid(DAY) * DAY);
    let mut count = async |sql: &'static str| -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql)
            .bind(&start)
            .fetch_one(&mut *conn)
            .await?)
    };
    Ok(TodayCounts {
        signups: count("SELECT COUNT(*) FROM signups WHERE signed_up_at >= ?").await?,
        tickets: count("SELECT COUNT(*) FROM tickets WHERE opened_at >= ?").await?,
        revenue_events: count(
            "SELECT COUNT(*) FROM revenue WHERE booked_at >= ? AND kind IN ('add_on', 'expansion')",
        )
        .await?,
    })
}

async fn load_world(conn: &mut SqliteConnection, seed: u64, origin: i64) -> anyhow::Result<World> {
    let customers = sqlx::query(
        "SELECT customer_id, name, plan, region, country, seats, signed_up_at, churned_at \
         FROM customers ORDER BY customer_id",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| -> anyhow::Result<Customer> {
        let churned: Option<String> = r.try_get("churned_at")?;
        Ok(Customer {
            id: r.try_get("customer_id")?,
            name: r.try_get("name")?,
            plan: Plan::parse(&r.try_get::<String, _>("plan")?),
            region: r.try_get("region")?,
            country: r.try_get("country")?,
            seats: r.try_get("seats")?,
            signed_up_at: parse_ts(&r.try_get::<String, _>("signed_up_at")?)
                .context("bad signed_up_at")?,
            churned_at: churned.as_deref().and_then(parse_ts),
            new: false,
            dirty: false,
        })
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    let tickets = sqlx::query(
        "SELECT t.ticket_id, t.opened_at, t.customer_id, t.priority, t.category, \
                t.first_response_minutes, p.respond_at, p.response_minutes, p.close_at, p.rating \
         FROM _demo_pending p JOIN tickets t ON t.ticket_id = p.ticket_id ORDER BY t.ticket_id",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| -> anyhow::Result<Ticket> {
        let responded: Option<i64> = r.try_get("first_response_minutes")?;
        Ok(Ticket {
            id: r.try_get("ticket_id")?,
            opened_at: parse_ts(&r.try_get::<String, _>("opened_at")?).context("bad opened_at")?,
            customer_id: r.try_get("customer_id")?,
            priority: sim::intern_priority(&r.try_get::<String, _>("priority")?),
            category: sim::intern_category(&r.try_get::<String, _>("category")?),
            respond_at: parse_ts(&r.try_get::<String, _>("respond_at")?)
                .context("bad respond_at")?,
            response_minutes: r.try_get("response_minutes")?,
            close_at: parse_ts(&r.try_get::<String, _>("close_at")?).context("bad close_at")?,
            rating: r.try_get("rating")?,
            responded: responded.is_some(),
            closed: false,
            new: false,
            dirty: false,
        })
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    let next_ticket: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(ticket_id), 0) + 1 FROM tickets")
            .fetch_one(&mut *conn)
            .await?;
    Ok(World::loaded(seed, origin, customers, tickets, next_ticket))
}

/// Rows per multi-row `INSERT`.
const BATCH: usize = 500;

async fn insert_batches(
    conn: &mut SqliteConnection,
    head: &str,
    tail: &str,
    rows: Vec<String>,
) -> anyhow::Result<u64> {
    for batch in rows.chunks(BATCH) {
        // Every value in these statements was generated here from numbers and our own word
        // lists, and text goes through `lit`.
        let sql = format!("{head} VALUES {} {tail}", batch.join(", "));
        conn.execute(AssertSqlSafe(sql)).await?;
    }
    Ok(rows.len() as u64)
}

async fn flush_rows(
    conn: &mut SqliteConnection,
    rows: &mut Rows,
    stats: &mut AppendStats,
) -> anyhow::Result<()> {
    stats.signups += insert_batches(
        conn,
        "INSERT INTO signups (signed_up_at, plan, region, country, channel, converted, customer_id)",
        "",
        std::mem::take(&mut rows.signups),
    )
    .await?;
    stats.revenue_rows += insert_batches(
        conn,
        "INSERT INTO revenue (booked_at, month, customer_id, plan, region, kind, seats, amount_usd)",
        "",
        std::mem::take(&mut rows.revenue),
    )
    .await?;
    stats.usage_rows += insert_batches(
        conn,
        "INSERT INTO usage (day, customer_id, active_users, api_calls, storage_gb)",
        "ON CONFLICT (day, customer_id) DO UPDATE SET active_users = excluded.active_users, \
         api_calls = excluded.api_calls, storage_gb = excluded.storage_gb",
        std::mem::take(&mut rows.usage).into_values().collect(),
    )
    .await?;
    stats.new_customers += std::mem::take(&mut rows.new_customers);
    stats.churned += std::mem::take(&mut rows.churned);
    stats.tickets_opened += std::mem::take(&mut rows.tickets_opened);
    stats.tickets_responded += std::mem::take(&mut rows.tickets_responded);
    stats.tickets_closed += std::mem::take(&mut rows.tickets_closed);
    Ok(())
}

fn opt_ts(t: Option<i64>) -> String {
    t.map_or("NULL".to_string(), |t| lit(&iso_ts(t)))
}

/// Writes new and changed customers and tickets, and the tickets still waiting for an answer
/// or a resolution.
async fn write_world(conn: &mut SqliteConnection, world: &World) -> anyhow::Result<()> {
    insert_batches(
        conn,
        "INSERT INTO customers (customer_id, name, plan, region, country, seats, signed_up_at, churned_at)",
        "",
        world.customers.iter().filter(|c| c.new).map(|c| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {})",
                c.id,
                lit(&c.name),
                lit(c.plan.name()),
                lit(&c.region),
                lit(&c.country),
                c.seats,
                lit(&iso_ts(c.signed_up_at)),
                opt_ts(c.churned_at)
            )
        })
        .collect(),
    )
    .await?;
    for c in world.customers.iter().filter(|c| c.dirty && !c.new) {
        sqlx::query(
            "UPDATE customers SET plan = ?, seats = ?, churned_at = ? WHERE customer_id = ?",
        )
        .bind(c.plan.name())
        .bind(c.seats)
        .bind(c.churned_at.map(iso_ts))
        .bind(c.id)
        .execute(&mut *conn)
        .await?;
    }
    let ticket_values = |t: &Ticket| {
        let responded = t.responded.then_some(t.response_minutes);
        let closed_at = t.closed.then_some(t.close_at);
        let rating = if t.closed { t.rating } else { None };
        (responded, closed_at, rating)
    };
    insert_batches(
        conn,
        "INSERT INTO tickets (ticket_id, opened_at, closed_at, customer_id, priority, category, \
         status, first_response_minutes, satisfaction)",
        "",
        world
            .tickets
            .values()
            .chain(&world.solved)
            .filter(|t| t.new)
            .map(|t| {
                let (responded, closed_at, rating) = ticket_values(t);
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, {}, {})",
                    t.id,
                    lit(&iso_ts(t.opened_at)),
                    opt_ts(closed_at),
                    t.customer_id,
                    lit(t.priority),
                    lit(t.category),
                    lit(t.status()),
                    responded.map_or("NULL".into(), |m| m.to_string()),
                    rating.map_or("NULL".into(), |r| r.to_string()),
                )
            })
            .collect(),
    )
    .await?;
    for t in world
        .tickets
        .values()
        .chain(&world.solved)
        .filter(|t| t.dirty && !t.new)
    {
        let (responded, closed_at, rating) = ticket_values(t);
        sqlx::query(
            "UPDATE tickets SET closed_at = ?, status = ?, first_response_minutes = ?, \
             satisfaction = ? WHERE ticket_id = ?",
        )
        .bind(closed_at.map(iso_ts))
        .bind(t.status())
        .bind(responded)
        .bind(rating)
        .bind(t.id)
        .execute(&mut *conn)
        .await?;
    }
    conn.execute("DELETE FROM _demo_pending").await?;
    insert_batches(
        conn,
        "INSERT INTO _demo_pending (ticket_id, respond_at, response_minutes, close_at, rating)",
        "",
        world
            .tickets
            .values()
            .filter(|t| !t.closed)
            .map(|t| {
                format!(
                    "({}, {}, {}, {}, {})",
                    t.id,
                    lit(&iso_ts(t.respond_at)),
                    t.response_minutes,
                    lit(&iso_ts(t.close_at)),
                    t.rating.map_or("NULL".into(), |r| r.to_string()),
                )
            })
            .collect(),
    )
    .await?;
    Ok(())
}
