//! The simulation behind the demo warehouse: one code path generates both the history and the
//! live ticks.
//!
//! Time is cut into *slices* that never cross a UTC midnight: whole days when the history is
//! created or caught up, a few seconds when the appender ticks. [`World::simulate`] turns one
//! slice into rows. Everything random comes from a [`Rng`] seeded by the warehouse seed and
//! the slice's bounds, and everything that accumulates during a day (active users, API calls,
//! storage) is a pure function of the customer, the day and the time of day — so the same
//! calls always give the same warehouse, and a usage row written at 10:00 and rewritten at
//! 10:05 agrees with a row written once at 10:05.

use std::collections::{BTreeMap, HashSet};
use std::f64::consts::TAU;
use std::fmt::Write as _;

use time::{Date, Month, OffsetDateTime};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// How far before the window the initial customers signed up (two years).
const INITIAL_SPREAD_DAYS: i64 = 730;
/// Customers the company already had when the window opens.
const INITIAL_CUSTOMERS: usize = 110;

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, good enough for fake data, and fully reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` that depends only on `parts`.
pub(crate) fn hash01(parts: &[u64]) -> f64 {
    let mut h = 0x243F_6A88_85A3_08D3_u64;
    for p in parts {
        h = mix(h ^ p.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(mix(seed ^ 0x5DEE_CE66_D1CE_4E5B))
    }

    /// A generator for the slice `[a, b)`: reproducible whatever happened before.
    pub(crate) fn for_slice(seed: u64, a: i64, b: i64) -> Self {
        Rng::new(mix(seed ^ mix(a as u64)) ^ mix((b as u64).rotate_left(17)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal draw (Box–Muller).
    pub(crate) fn gauss(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }

    /// A Poisson draw: how many events happen when `lambda` are expected.
    pub(crate) fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.gauss()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    pub(crate) fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar shapes

/// Share of a day's activity that has happened by time-of-day `x` (0..=1): a wave that peaks
/// at noon UTC and never drops below a fifth of the peak (the customers are worldwide).
pub(crate) fn day_curve(x: f64) -> f64 {
    const A: f64 = 0.8;
    x - A * (TAU * x).sin() / TAU
}

/// The time-of-day at which `day_curve` reaches `target`, within `[lo, hi]`.
fn invert_day_curve(target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if day_curve(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// Business seasonality by month: slow summers and holidays, busy autumns.
fn season(date: Date) -> f64 {
    let base = match date.month() {
        Month::January => 1.04,
        Month::February => 1.0,
        Month::March => 1.06,
        Month::April => 1.0,
        Month::May => 1.02,
        Month::June => 0.97,
        Month::July => 0.88,
        Month::August => 0.82,
        Month::September => 1.08,
        Month::October => 1.1,
        Month::November => 1.05,
        Month::December => 0.9,
    };
    if date.month() == Month::December && date.day() >= 22 {
        base * 0.6
    } else {
        base
    }
}

fn is_weekend(date: Date) -> bool {
    date.weekday().number_days_from_monday() >= 5
}

pub(crate) fn date_of(ts: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(ts)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// `2026-11-23T10:00:00Z`.
pub(crate) fn iso_ts(ts: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-23`.
pub(crate) fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Parses what [`iso_ts`] writes.
pub(crate) fn parse_ts(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let month = Month::try_from(num(5..7)? as u8).ok()?;
    let date = Date::from_calendar_date(num(0..4)? as i32, month, num(8..10)? as u8).ok()?;
    let secs = num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    Some(date.midnight().assume_utc().unix_timestamp() + secs)
}

/// Midnight UTC of the first day of the month `months` away from `ts`'s month.
pub(crate) fn month_start(ts: i64, months: i32) -> i64 {
    let d = date_of(ts);
    let total = d.year() * 12 + (d.month() as i32 - 1) + months;
    let month = Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    Date::from_calendar_date(total.div_euclid(12), month, 1)
        .unwrap_or(d)
        .midnight()
        .assume_utc()
        .unix_timestamp()
}

// ---------------------------------------------------------------------------------------------
// The company's catalogue

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    Starter,
    Growth,
    Enterprise,
}

impl Plan {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Plan::Starter => "Starter",
            Plan::Growth => "Growth",
            Plan::Enterprise => "Enterprise",
        }
    }

    pub(crate) fn parse(s: &str) -> Plan {
        match s {
            "Enterprise" => Plan::Enterprise,
            "Growth" => Plan::Growth,
            _ => Plan::Starter,
        }
    }

    /// List price per seat and month, in USD.
    fn seat_price(self) -> f64 {
        match self {
            Plan::Starter => 12.0,
            Plan::Growth => 29.0,
            Plan::Enterprise => 49.0,
        }
    }

    fn seats(self, rng: &mut Rng) -> i64 {
        match self {
            Plan::Starter => rng.range(2, 12),
            Plan::Growth => rng.range(8, 45),
            Plan::Enterprise => rng.range(35, 100),
        }
    }

    fn min_seats(self) -> i64 {
        match self {
            Plan::Starter => 1,
            Plan::Growth => 5,
            Plan::Enterprise => 30,
        }
    }

    /// Monthly logo churn.
    fn churn_per_month(self) -> f64 {
        match self {
            Plan::Starter => 0.028,
            Plan::Growth => 0.013,
            Plan::Enterprise => 0.005,
        }
    }

    /// Support tickets per customer and working day.
    fn tickets_per_day(self) -> f64 {
        match self {
            Plan::Starter => 0.05,
            Plan::Growth => 0.075,
            Plan::Enterprise => 0.12,
        }
    }

    /// One-off onboarding fee at conversion.
    fn onboarding_fee(self) -> Option<f64> {
        match self {
            Plan::Starter => None,
            Plan::Growth => Some(1_500.0),
            Plan::Enterprise => Some(6_000.0),
        }
    }

    /// Probability that a trial of this plan becomes a paying customer.
    fn conversion(self) -> f64 {
        match self {
            Plan::Starter => 0.008,
            Plan::Growth => 0.012,
            Plan::Enterprise => 0.016,
        }
    }
}

const TRIAL_PLANS: [(Plan, f64); 3] = [
    (Plan::Starter, 0.62),
    (Plan::Growth, 0.30),
    (Plan::Enterprise, 0.08),
];

const INITIAL_PLANS: [(Plan, f64); 3] = [
    (Plan::Starter, 0.50),
    (Plan::Growth, 0.35),
    (Plan::Enterprise, 0.15),
];

const REGIONS: [(&str, f64); 3] = [("AMER", 0.45), ("EMEA", 0.38), ("APAC", 0.17)];

/// Countries of a region with the legal suffix of their company names.
fn countries(region: &str) -> &'static [((&'static str, &'static str), f64)] {
    match region {
        "EMEA" => &[
            (("United Kingdom", "Ltd"), 20.0),
            (("Germany", "GmbH"), 18.0),
            (("France", "SAS"), 12.0),
            (("Netherlands", "B.V."), 9.0),
            (("Spain", "S.L."), 7.0),
            (("Sweden", "AB"), 6.0),
            (("Italy", "S.r.l."), 6.0),
            (("Switzerland", "AG"), 5.0),
            (("Poland", "sp. z o.o."), 4.0),
            (("Ireland", "Ltd"), 4.0),
            (("United Arab Emirates", "LLC"), 3.0),
            (("South Africa", "(Pty) Ltd"), 3.0),
        ],
        "APAC" => &[
            (("Australia", "Pty Ltd"), 25.0),
            (("Japan", "K.K."), 20.0),
            (("India", "Pvt. Ltd."), 20.0),
            (("Singapore", "Pte. Ltd."), 15.0),
            (("South Korea", "Co., Ltd."), 8.0),
            (("New Zealand", "Ltd"), 6.0),
        ],
        _ => &[
            (("United States", "Inc."), 70.0),
            (("Canada", "Inc."), 12.0),
            (("Brazil", "Ltda."), 8.0),
            (("Mexico", "S.A. de C.V."), 5.0),
            (("Argentina", "S.A."), 3.0),
            (("Chile", "SpA"), 2.0),
        ],
    }
}

/// Acquisition channels with their weight among trials and how well they convert.
const CHANNELS: [(&str, f64, f64); 6] = [
    ("Organic", 34.0, 1.0),
    ("Paid search", 22.0, 0.8),
    ("Referral", 14.0, 1.8),
    ("Social", 12.0, 0.6),
    ("Partner", 10.0, 1.5),
    ("Events", 8.0, 1.3),
];

const NAME_FIRST: [&str; 40] = [
    "Blue",
    "North",
    "Bright",
    "Quiet",
    "Silver",
    "Iron",
    "Cedar",
    "Harbor",
    "Lumen",
    "Nova",
    "Atlas",
    "Copper",
    "Maple",
    "Summit",
    "Vertex",
    "Orchid",
    "Pioneer",
    "Granite",
    "Willow",
    "Falcon",
    "Coral",
    "Beacon",
    "Ember",
    "Meadow",
    "Polar",
    "Crimson",
    "Sterling",
    "Aurora",
    "Kestrel",
    "Juniper",
    "Tidal",
    "Evergreen",
    "Solstice",
    "Obsidian",
    "Prairie",
    "Helix",
    "Cobalt",
    "Saffron",
    "Riverstone",
    "Zephyr",
];

const NAME_SECOND: [&str; 24] = [
    "Labs",
    "Logistics",
    "Analytics",
    "Health",
    "Foods",
    "Robotics",
    "Studio",
    "Systems",
    "Energy",
    "Finance",
    "Retail",
    "Media",
    "Works",
    "Bio",
    "Freight",
    "Learning",
    "Security",
    "Travel",
    "Mobility",
    "Cloud",
    "Insurance",
    "Manufacturing",
    "Architects",
    "Games",
];

const PRIORITIES: [(&str, f64); 4] = [
    ("low", 30.0),
    ("normal", 45.0),
    ("high", 18.0),
    ("urgent", 7.0),
];

const CATEGORIES: [(&str, f64); 6] = [
    ("How-to", 30.0),
    ("Bug", 22.0),
    ("Billing", 14.0),
    ("Integration", 14.0),
    ("Account", 10.0),
    ("Feature request", 10.0),
];

const ADD_ONS: [f64; 5] = [49.0, 99.0, 149.0, 249.0, 499.0];

/// Typical minutes to a first answer, by priority.
fn response_median_minutes(priority: &str) -> f64 {
    match priority {
        "urgent" => 12.0,
        "high" => 45.0,
        "normal" => 180.0,
        _ => 420.0,
    }
}

/// Typical hours from first answer to resolution, by priority.
fn resolution_median_hours(priority: &str) -> f64 {
    match priority {
        "urgent" => 4.0,
        "high" => 12.0,
        "normal" => 30.0,
        _ => 60.0,
    }
}

// ---------------------------------------------------------------------------------------------
// State

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) plan: Plan,
    pub(crate) region: String,
    pub(crate) country: String,
    pub(crate) seats: i64,
    pub(crate) signed_up_at: i64,
    pub(crate) churned_at: Option<i64>,
    /// Not yet in the database.
    pub(crate) new: bool,
    /// Plan, seats or churn changed since loaded.
    pub(crate) dirty: bool,
}

impl Customer {
    fn active_at(&self, t: i64) -> bool {
        self.signed_up_at <= t && self.churned_at.is_none_or(|c| c > t)
    }

    /// The day of the month invoices are issued (the sign-up day, at most the 28th).
    fn billing_day(&self) -> u8 {
        date_of(self.signed_up_at).day().min(28)
    }

    fn monthly_fee(&self) -> f64 {
        self.seats as f64 * self.plan.seat_price()
    }

    fn h(&self, salt: u64) -> f64 {
        hash01(&[self.id as u64, salt])
    }

    /// Usage at time `t` of `day` (midnight `day_start`): cumulative within the day.
    fn usage_at(&self, day_start: i64, date: Date, t: i64) -> (i64, i64, f64) {
        let x = ((t - day_start) as f64 / DAY as f64).clamp(0.0, 1.0);
        let days_in = ((day_start - self.signed_up_at) as f64 / DAY as f64).max(0.0);
        let ramp = (0.3 + 0.7 * days_in / 45.0).min(1.0);
        let engagement = 0.35 + 0.5 * self.h(1);
        let weekday = if is_weekend(date) { 0.28 } else { 1.0 };
        let noise = 0.85 + 0.3 * hash01(&[self.id as u64, day_start as u64, 5]);
        let dau = self.seats as f64 * engagement * weekday * season(date) * noise * ramp;
        let per_user = (80.0 + 420.0 * self.h(2))
            * if self.plan == Plan::Enterprise {
                1.5
            } else {
                1.0
            };
        let call_noise = 0.8 + 0.4 * hash01(&[self.id as u64, day_start as u64, 6]);
        let shape = day_curve(x);
        let active = (dau * shape.sqrt()).round() as i64;
        let calls = (dau * per_user * call_noise * shape).round() as i64;
        let per_seat_base = 0.05 + 0.2 * self.h(3);
        let per_seat_growth = 0.0005 + 0.002 * self.h(4);
        let age_days = ((t - self.signed_up_at) as f64 / DAY as f64).max(0.0);
        let storage = self.seats as f64 * (per_seat_base + per_seat_growth * age_days);
        (active, calls, (storage * 100.0).round() / 100.0)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) id: i64,
    pub(crate) opened_at: i64,
    pub(crate) customer_id: i64,
    pub(crate) priority: &'static str,
    pub(crate) category: &'static str,
    /// When the first answer is (or was) given, and after how many minutes.
    pub(crate) respond_at: i64,
    pub(crate) response_minutes: i64,
    /// When it is (or was) solved.
    pub(crate) close_at: i64,
    /// The rating the customer gives on close, if any.
    pub(crate) rating: Option<i64>,
    pub(crate) responded: bool,
    pub(crate) closed: bool,
    /// Not yet in the database.
    pub(crate) new: bool,
    /// Changed since loaded.
    pub(crate) dirty: bool,
}

impl Ticket {
    pub(crate) fn status(&self) -> &'static str {
        if self.closed {
            "solved"
        } else if self.responded {
            "in_progress"
        } else {
            "open"
        }
    }
}

/// Intern a priority or category read back from the database.
pub(crate) fn intern(s: &str, table: &[(&'static str, f64)]) -> &'static str {
    table
        .iter()
        .map(|(v, _)| *v)
        .find(|v| *v == s)
        .unwrap_or(table[0].0)
}

pub(crate) fn intern_priority(s: &str) -> &'static str {
    intern(s, &PRIORITIES)
}

pub(crate) fn intern_category(s: &str) -> &'static str {
    intern(s, &CATEGORIES)
}

/// How many events a live tick has already added today, to keep a long-running demo plausible.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TodayCounts {
    pub(crate) signups: i64,
    pub(crate) tickets: i64,
    pub(crate) revenue_events: i64,
}

/// Live ticks make discrete events (sign-ups, tickets, add-on sales) happen about once every
/// `every` seconds so a viewer sees numbers move — but only until the day holds its normal
/// share plus `extra` of them; after that the pace is the historical one again.
#[derive(Debug, Clone, Copy)]
struct LivePace {
    every: f64,
    extra: f64,
}

const LIVE_SIGNUPS: LivePace = LivePace {
    every: 20.0,
    extra: 180.0,
};
const LIVE_TICKETS: LivePace = LivePace {
    every: 40.0,
    extra: 90.0,
};
const LIVE_REVENUE: LivePace = LivePace {
    every: 30.0,
    extra: 120.0,
};

impl LivePace {
    fn lambda(self, normal: f64, per_day: f64, seconds: f64, today: i64) -> f64 {
        if (today as f64) < per_day + self.extra {
            normal.max(seconds / self.every)
        } else {
            normal
        }
    }
}

/// SQL value tuples waiting to be written, by table.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) signups: Vec<String>,
    pub(crate) revenue: Vec<String>,
    pub(crate) usage: BTreeMap<(i64, i64), String>,
    pub(crate) churned: u64,
    pub(crate) new_customers: u64,
    pub(crate) tickets_opened: u64,
    pub(crate) tickets_responded: u64,
    pub(crate) tickets_closed: u64,
}

/// A text literal for SQL built by us from our own word lists.
pub(crate) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The company: its customers, its open tickets, and the counters for new ids.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) seed: u64,
    /// Midnight UTC at which the history starts; growth is measured from it.
    pub(crate) origin: i64,
    pub(crate) customers: Vec<Customer>,
    /// Tickets not solved yet.
    pub(crate) tickets: BTreeMap<i64, Ticket>,
    /// Tickets solved since the world was made or loaded.
    pub(crate) solved: Vec<Ticket>,
    pub(crate) next_customer_id: i64,
    pub(crate) next_ticket_id: i64,
    names: HashSet<String>,
}

impl World {
    /// A fresh company at `origin`, with the customers it already had.
    pub(crate) fn new(seed: u64, origin: i64) -> Self {
        let mut world = World {
            seed,
            origin,
            customers: Vec::new(),
            tickets: BTreeMap::new(),
            solved: Vec::new(),
            next_customer_id: 1,
            next_ticket_id: 1,
            names: HashSet::new(),
        };
        let mut rng = Rng::new(seed);
        let mut joined: Vec<i64> = (0..INITIAL_CUSTOMERS)
            .map(|_| origin - rng.range(1, INITIAL_SPREAD_DAYS * DAY))
            .collect();
        joined.sort_unstable();
        for at in joined {
            let plan = *rng.weighted(&INITIAL_PLANS);
            let region = *rng.weighted(&REGIONS);
            let mut c = world.new_customer(&mut rng, plan, region, at);
            // Older customers have grown.
            let years = (origin - at) as f64 / (365.0 * DAY as f64);
            c.seats = ((c.seats as f64) * (1.0 + 0.4 * years * rng.unit())).round() as i64;
            world.customers.push(c);
        }
        world
    }

    /// A world loaded from the database (see `load` in the parent module).
    pub(crate) fn loaded(
        seed: u64,
        origin: i64,
        customers: Vec<Customer>,
        tickets: Vec<Ticket>,
        next_ticket_id: i64,
    ) -> Self {
        let next_customer_id = customers.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        let names = customers.iter().map(|c| c.name.clone()).collect();
        World {
            seed,
            origin,
            customers,
            tickets: tickets.into_iter().map(|t| (t.id, t)).collect(),
            solved: Vec::new(),
            next_customer_id,
            next_ticket_id,
            names,
        }
    }

    fn company_name(&mut self, rng: &mut Rng, suffix: &str) -> String {
        for attempt in 0..200 {
            let base = format!("{} {}", rng.pick(&NAME_FIRST), rng.pick(&NAME_SECOND));
            let name = if attempt < 100 {
                format!("{base} {suffix}")
            } else {
                format!("{base} {} {suffix}", rng.pick(&NAME_FIRST))
            };
            if self.names.insert(name.clone()) {
                return name;
            }
        }
        let name = format!("Company {} {suffix}", self.next_customer_id);
        self.names.insert(name.clone());
        name
    }

    fn new_customer(&mut self, rng: &mut Rng, plan: Plan, region: &str, at: i64) -> Customer {
        let (country, suffix) = *rng.weighted(countries(region));
        let name = self.company_name(rng, suffix);
        let id = self.next_customer_id;
        self.next_customer_id += 1;
        Customer {
            id,
            name,
            plan,
            region: region.to_string(),
            country: country.to_string(),
            seats: plan.seats(rng),
            signed_up_at: at,
            churned_at: None,
            new: true,
            dirty: false,
        }
    }

    /// Trials per day at `date`: growing about 2.5 % a month, seasonal, quieter at weekends.
    fn signups_per_day(&self, date: Date, at: i64) -> f64 {
        let months = (at - self.origin) as f64 / (30.44 * DAY as f64);
        let weekday = if is_weekend(date) { 0.55 } else { 1.0 };
        42.0 * 1.025_f64.powf(months) * season(date) * weekday
    }

    /// Simulates the slice `[a, b)`, which must lie within one UTC day. `live` carries
    /// today's counts when this is a short live tick (see [`LivePace`]).
    pub(crate) fn simulate(
        &mut self,
        a: i64,
        b: i64,
        live: Option<&mut TodayCounts>,
        out: &mut Rows,
    ) {
        debug_assert!(a < b && b - a <= DAY);
        let day_start = a.div_euclid(DAY) * DAY;
        let date = date_of(day_start);
        let mut rng = Rng::for_slice(self.seed, a, b);
        let (xa, xb) = (
            (a - day_start) as f64 / DAY as f64,
            (b - day_start) as f64 / DAY as f64,
        );
        let mass = day_curve(xb) - day_curve(xa);
        let seconds = (b - a) as f64;
        let mut live = live;

        self.advance_tickets(b, out);
        self.bill(&mut rng, a, b, date, day_start, out);
        self.churn(&mut rng, a, b, date, out);

        // Trials, some of which convert into customers.
        let per_day = self.signups_per_day(date, a);
        let mut lambda = per_day * mass;
        if let Some(today) = live.as_deref() {
            lambda = LIVE_SIGNUPS.lambda(lambda, per_day, seconds, today.signups);
        }
        let n = rng.poisson(lambda);
        for _ in 0..n {
            let at = sample_time(&mut rng, day_start, xa, xb).clamp(a, b - 1);
            self.signup(&mut rng, at, date, out);
        }
        if let Some(today) = live.as_deref_mut() {
            today.signups += i64::from(n);
        }

        let active: Vec<usize> = (0..self.customers.len())
            .filter(|&i| self.customers[i].active_at(a))
            .collect();
        if !active.is_empty() {
            // Add-on purchases and mid-cycle seat expansions.
            let per_day = 0.012 * active.len() as f64 * if is_weekend(date) { 0.3 } else { 1.0 };
            let mut lambda = per_day * mass;
            if let Some(today) = live.as_deref() {
                lambda = LIVE_REVENUE.lambda(lambda, per_day, seconds, today.revenue_events);
            }
            let n = rng.poisson(lambda);
            for _ in 0..n {
                let i = *rng.pick(&active);
                let at = sample_time(&mut rng, day_start, xa, xb).clamp(a, b - 1);
                self.revenue_event(&mut rng, i, at, date, out);
            }
            if let Some(today) = live.as_deref_mut() {
                today.revenue_events += i64::from(n);
            }

            // Support tickets.
            let weekday = if is_weekend(date) { 0.35 } else { 1.0 };
            let rates: Vec<f64> = active
                .iter()
                .map(|&i| self.customers[i].plan.tickets_per_day() * weekday)
                .collect();
            let per_day: f64 = rates.iter().sum();
            let mut lambda = per_day * mass;
            if let Some(today) = live.as_deref() {
                lambda = LIVE_TICKETS.lambda(lambda, per_day, seconds, today.tickets);
            }
            let n = rng.poisson(lambda);
            let weights: Vec<(usize, f64)> = active.iter().copied().zip(rates).collect();
            for _ in 0..n {
                let i = *rng.weighted(&weights);
                let at = sample_time(&mut rng, day_start, xa, xb).clamp(a, b - 1);
                self.open_ticket(&mut rng, i, at, b, out);
            }
            if let Some(today) = live {
                today.tickets += i64::from(n);
            }
        }

        // Usage of everyone who was a customer at some point of the slice.
        let day = lit(&iso_date(date));
        for c in &self.customers {
            if c.signed_up_at >= b || c.churned_at.is_some_and(|t| t < a) {
                continue;
            }
            let end = c.churned_at.map_or(b, |t| t.min(b));
            let (active_users, calls, storage) = c.usage_at(day_start, date, end);
            out.usage.insert(
                (day_start, c.id),
                format!("({day}, {}, {active_users}, {calls}, {storage})", c.id),
            );
        }
    }

    /// Answers and solves the tickets whose time has come before `b`.
    fn advance_tickets(&mut self, b: i64, out: &mut Rows) {
        let mut solved = Vec::new();
        for t in self.tickets.values_mut() {
            if !t.responded && t.respond_at < b {
                t.responded = true;
                t.dirty = true;
                out.tickets_responded += 1;
            }
            if t.responded && !t.closed && t.close_at < b {
                t.closed = true;
                t.dirty = true;
                out.tickets_closed += 1;
                solved.push(t.id);
            }
        }
        for id in solved {
            if let Some(t) = self.tickets.remove(&id) {
                self.solved.push(t);
            }
        }
    }

    /// Monthly invoices on each customer's billing day (at midnight), after the month's seat
    /// changes and upgrades.
    fn bill(&mut self, rng: &mut Rng, a: i64, b: i64, date: Date, day_start: i64, out: &mut Rows) {
        if !(a <= day_start && day_start < b) {
            return;
        }
        for i in 0..self.customers.len() {
            let c = &self.customers[i];
            if !c.active_at(day_start)
                || c.billing_day() != date.day()
                || date_of(c.signed_up_at) == date
            {
                continue;
            }
            let c = &mut self.customers[i];
            if rng.chance(0.07) {
                let grow = (c.seats as f64 * (0.05 + 0.2 * rng.unit())).ceil() as i64;
                c.seats += grow.max(1);
                c.dirty = true;
            } else if rng.chance(0.04) {
                let shrink = (c.seats as f64 * (0.05 + 0.1 * rng.unit())).floor() as i64;
                c.seats = (c.seats - shrink).max(c.plan.min_seats());
                c.dirty = true;
            }
            let upgrade = match c.plan {
                Plan::Starter if c.seats >= 10 && rng.chance(0.15) => Some(Plan::Growth),
                Plan::Growth if c.seats >= 55 && rng.chance(0.06) => Some(Plan::Enterprise),
                _ => None,
            };
            if let Some(plan) = upgrade {
                c.plan = plan;
                c.seats = c.seats.max(plan.min_seats());
                c.dirty = true;
            }
            let c = &self.customers[i];
            out.revenue
                .push(invoice(c, day_start, "subscription", c.monthly_fee()));
        }
    }

    fn churn(&mut self, rng: &mut Rng, a: i64, b: i64, date: Date, out: &mut Rows) {
        // January budget reviews cost a few more customers.
        let january = if date.month() == Month::January {
            1.5
        } else {
            1.0
        };
        let days = (b - a) as f64 / DAY as f64;
        for c in &mut self.customers {
            if !c.active_at(a) || c.signed_up_at > a - 30 * DAY {
                continue;
            }
            let p = 1.0 - (-c.plan.churn_per_month() * january / 30.44 * days).exp();
            if rng.chance(p) {
                c.churned_at = Some(rng.range(a, b - 1));
                c.dirty = true;
                out.churned += 1;
            }
        }
    }

    fn signup(&mut self, rng: &mut Rng, at: i64, date: Date, out: &mut Rows) {
        let plan = *rng.weighted(&TRIAL_PLANS);
        let region = *rng.weighted(&REGIONS);
        let weights: Vec<((&str, f64), f64)> = CHANNELS
            .iter()
            .map(|(name, w, conv)| ((*name, *conv), *w))
            .collect();
        let (channel, conv) = *rng.weighted(&weights);
        // Sales-led months (autumn) convert better.
        let p = plan.conversion() * conv * season(date);
        let customer_id = if rng.chance(p) {
            let c = self.new_customer(rng, plan, region, at);
            out.revenue
                .push(invoice(&c, at, "subscription", c.monthly_fee()));
            if let Some(fee) = plan.onboarding_fee() {
                out.revenue.push(invoice(&c, at, "services", fee));
            }
            let (id, country) = (c.id, c.country.clone());
            self.customers.push(c);
            out.new_customers += 1;
            Some((id, country))
        } else {
            None
        };
        let country = match &customer_id {
            Some((_, country)) => country.clone(),
            None => rng.weighted(countries(region)).0.to_string(),
        };
        out.signups.push(format!(
            "({}, {}, {}, {}, {}, {}, {})",
            lit(&iso_ts(at)),
            lit(plan.name()),
            lit(region),
            lit(&country),
            lit(channel),
            i64::from(customer_id.is_some()),
            customer_id.map_or("NULL".to_string(), |(id, _)| id.to_string()),
        ));
    }

    fn revenue_event(&mut self, rng: &mut Rng, i: usize, at: i64, date: Date, out: &mut Rows) {
        let c = &mut self.customers[i];
        if rng.chance(0.55) {
            let amount = *rng.pick(&ADD_ONS);
            out.revenue.push(invoice(c, at, "add_on", amount));
        } else {
            let seats = rng.range(1, (c.seats / 8).max(1));
            let days_in_month = f64::from(date.month().length(date.year()));
            let left = (days_in_month - f64::from(date.day()) + 1.0) / days_in_month;
            let amount = (seats as f64 * c.plan.seat_price() * left * 100.0).round() / 100.0;
            c.seats += seats;
            c.dirty = true;
            out.revenue.push(invoice(c, at, "expansion", amount));
        }
    }

    fn open_ticket(&mut self, rng: &mut Rng, i: usize, at: i64, b: i64, out: &mut Rows) {
        let c = &self.customers[i];
        let mut priorities = PRIORITIES;
        if c.plan == Plan::Enterprise {
            priorities[2].1 *= 1.6;
            priorities[3].1 *= 1.8;
        }
        let priority = *rng.weighted(&priorities);
        let category = *rng.weighted(&CATEGORIES);
        // The support team gets faster over the window: 30 % slower than typical at the
        // start, 20 % faster 18 months later.
        let months = ((at - self.origin) as f64 / (30.44 * DAY as f64)).clamp(0.0, 24.0);
        let team = 1.3 - 0.5 * (months / 18.0).min(1.0);
        let weekend = if is_weekend(date_of(at)) { 2.5 } else { 1.0 };
        let response =
            response_median_minutes(priority) * team * weekend * (0.6 * rng.gauss()).exp();
        let response_minutes = response.round().max(1.0) as i64;
        let respond_at = at + response_minutes * 60;
        let resolution = resolution_median_hours(priority) * (0.8 * rng.gauss()).exp();
        let close_at = respond_at + (resolution * 3600.0).round().max(300.0) as i64;
        let rating = rng.chance(0.65).then(|| {
            let slow = (response / response_median_minutes(priority)).ln();
            let long = (resolution / resolution_median_hours(priority)).ln();
            let score = 4.5 - 0.45 * slow - 0.3 * long + 0.7 * rng.gauss();
            score.round().clamp(1.0, 5.0) as i64
        });
        let id = self.next_ticket_id;
        self.next_ticket_id += 1;
        let responded = respond_at < b;
        let closed = responded && close_at < b;
        let ticket = Ticket {
            id,
            opened_at: at,
            customer_id: c.id,
            priority,
            category,
            respond_at,
            response_minutes,
            close_at,
            rating,
            responded,
            closed,
            new: true,
            dirty: true,
        };
        if closed {
            self.solved.push(ticket);
        } else {
            self.tickets.insert(id, ticket);
        }
        out.tickets_opened += 1;
        out.tickets_responded += u64::from(responded);
        out.tickets_closed += u64::from(closed);
    }
}

/// A time in `[xa, xb)` of the day starting at `day_start`, following the day's activity wave.
fn sample_time(rng: &mut Rng, day_start: i64, xa: f64, xb: f64) -> i64 {
    let (fa, fb) = (day_curve(xa), day_curve(xb));
    let x = invert_day_curve(fa + rng.unit() * (fb - fa), xa, xb);
    day_start + (x * DAY as f64).floor() as i64
}

fn invoice(c: &Customer, at: i64, kind: &str, amount: f64) -> String {
    let month = iso_date(date_of(month_start(at, 0)));
    let mut s = String::with_capacity(120);
    let _ = write!(
        s,
        "({}, {}, {}, {}, {}, {}, {}, {:.2})",
        lit(&iso_ts(at)),
        lit(&month),
        c.id,
        lit(c.plan.name()),
        lit(&c.region),
        lit(kind),
        c.seats,
        amount
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_curve_runs_from_zero_to_one_and_inverts() {
        assert!(day_curve(0.0).abs() < 1e-12);
        assert!((day_curve(1.0) - 1.0).abs() < 1e-12);
        let x = invert_day_curve(day_curve(0.37), 0.0, 1.0);
        assert!((x - 0.37).abs() < 1e-9);
    }

    #[test]
    fn timestamps_round_trip_through_iso_text() {
        let ts = 1_795_000_123;
        assert_eq!(parse_ts(&iso_ts(ts)), Some(ts));
        assert_eq!(iso_ts(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn usage_later_in_the_day_is_never_smaller() {
        let c = Customer {
            id: 7,
            name: "x".into(),
            plan: Plan::Growth,
            region: "EMEA".into(),
            country: "Germany".into(),
            seats: 30,
            signed_up_at: 0,
            churned_at: None,
            new: false,
            dirty: false,
        };
        let day = 400 * DAY;
        let (u1, c1, _) = c.usage_at(day, date_of(day), day + 3600 * 9);
        let (u2, c2, _) = c.usage_at(day, date_of(day), day + 3600 * 15);
        assert!(u2 >= u1 && c2 > c1, "{u1} {c1} {u2} {c2}");
    }
}
