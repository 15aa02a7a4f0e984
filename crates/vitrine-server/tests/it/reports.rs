//! Scheduled reports end to end: a real SMTP conversation with the test's sink, Slack and
//! signed webhooks against a local HTTP receiver, retries of the failing recipient only, and
//! two scheduler instances on one database sending each slot once.

use std::sync::Arc;

use mail_parser::MimeHeaders as _;
use serde_json::{Value, json};
use time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::Mutex;
use vitrine_app::App;
use vitrine_app::reports::{self, Contents, Frequency, Recipient, ScheduleInput};
use vitrine_store::{MailState, Member, RunState};

use crate::helpers::{PgDatabase, pdf_text};
use crate::public::{Fixture, fixture_with};
use crate::sink::SmtpSink;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    path: String,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Hit {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How a receiver answers one path: from the how-manieth hit on it (0-based), its status and
/// body; the body is sent chunked (as Slack's API does).
type Responder = Arc<dyn Fn(usize) -> (u16, String) + Send + Sync>;

/// A local HTTP receiver: records every request and answers each path with its status
/// (200 unless set), or with a responder's answer.
#[derive(Clone)]
pub(crate) struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    failing: Arc<Mutex<Vec<(String, u16)>>>,
    responders: Arc<std::sync::Mutex<Vec<(String, Responder)>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let me = Receiver {
            base,
            hits: Arc::default(),
            failing: Arc::default(),
            responders: Arc::default(),
        };
        let served = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let me = served.clone();
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 8192];
                    let (head_end, length) = loop {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&buf[..n]);
                        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&data[..i]).to_string();
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            break (i + 4, length);
                        }
                    };
                    while data.len() < head_end + length {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        data.extend_from_slice(&buf[..n]);
                    }
                    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
                    let mut lines = head.lines();
                    let path = lines
                        .next()
                        .unwrap()
                        .split_whitespace()
                        .nth(1)
                        .unwrap()
                        .to_owned();
                    let headers = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let status = me
                        .failing
                        .lock()
                        .await
                        .iter()
                        .find(|(p, _)| *p == path)
                        .map_or(200, |(_, s)| *s);
                    let nth = {
                        let mut hits = me.hits.lock().await;
                        let nth = hits.iter().filter(|h| h.path == path).count();
                        hits.push(Hit {
                            path: path.clone(),
                            headers,
                            body: data[head_end..].to_vec(),
                        });
                        nth
                    };
                    let responder = me
                        .responders
                        .lock()
                        .unwrap()
                        .iter()
                        .rev()
                        .find(|(p, _)| *p == path)
                        .map(|(_, r)| r.clone());
                    if let Some(responder) = responder {
                        let (status, body) = responder(nth);
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\n\
                             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                             {:x}\r\n{body}\r\n0\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(answer.as_bytes()).await;
                        let _ = stream.shutdown().await;
                        return;
                    }
                    let body = if status == 200 {
                        "ok"
                    } else {
                        "receiver exploded"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        me
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `path` with `respond(nth hit)` from now on.
    pub(crate) fn respond(
        &self,
        path: &str,
        respond: impl Fn(usize) -> (u16, String) + Send + Sync + 'static,
    ) {
        self.responders
            .lock()
            .unwrap()
            .push((path.to_owned(), Arc::new(respond)));
    }

    pub(crate) async fn fail(&self, path: &str, status: u16) {
        self.failing.lock().await.push((path.to_owned(), status));
    }

    pub(crate) async fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .await
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

async fn admin(fx: &Fixture) -> Member {
    fx.app
        .state
        .store
        .member_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap()
}

fn daily_nine(dashboard: i64, recipients: Vec<Recipient>) -> ScheduleInput {
    ScheduleInput {
        dashboard_id: dashboard,
        widget_id: None,
        name: "Morning sales".into(),
        frequency: Frequency::Daily { at: "09:00".into() },
        zone: "Europe/Berlin".into(),
        recipients,
        contents: Contents {
            pdf: true,
            png: true,
            csv: vec!["by-region".into()],
            live_link: true,
            live_link_id: None,
        },
        filters: serde_json::from_value(json!({ "region": "EMEA" })).unwrap(),
        skip_when_empty: false,
        enabled: true,
    }
}

/// The test clock starts at 2026-11-23 12:00 UTC; 09:00 in Berlin (CET) is 08:00 UTC.
const NEXT_SLOT: time::OffsetDateTime = time::macros::datetime!(2026-11-24 08:00 UTC);

#[tokio::test]
async fn an_emailed_report_has_the_pdf_inline_pngs_csv_and_live_link_with_fixed_filters() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let fx = fixture_with(move |c| {
        c.mail.smtp_url = Some(smtp);
        c.mail.from = "Vitrine <reports@vitrine.test>".into();
    })
    .await;
    let app = &fx.app.state;
    let owner = admin(&fx).await;
    let schedule = reports::create(
        app,
        &owner,
        &daily_nine(
            fx.sales,
            vec![Recipient::Email {
                address: "ann@acme.test".into(),
            }],
        ),
    )
    .await
    .unwrap();
    assert_eq!(schedule.next.len(), 5);
    assert_eq!(schedule.next[0], NEXT_SLOT);
    assert_eq!(schedule.next_at[0], "2026-11-24T08:00:00Z");
    assert_eq!(schedule.next_local[0], "2026-11-24 09:00 CET");
    assert_eq!(schedule.run_as, Some(owner.id.0));

    // Nothing is due before the slot.
    assert_eq!(reports::tick(app).await.unwrap().runs, 0);
    fx.app.clock.set(NEXT_SLOT + Duration::seconds(3));
    let ticked = reports::tick(app).await.unwrap();
    assert_eq!((ticked.runs, ticked.lost, ticked.failed), (1, 0, 0));
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].to, vec!["<ann@acme.test>".to_owned()]);
    let parsed = received[0].parsed();
    assert!(
        parsed.subject().unwrap().starts_with("Sales"),
        "{:?}",
        parsed.subject()
    );
    let html = parsed.body_html(0).unwrap().to_string();
    let text = parsed.body_text(0).unwrap().to_string();
    // The live link is a share link created for the report (never the members' page), locked
    // to the schedule's fixed filter, and it opens for an outsider.
    assert!(
        !text.contains(&format!("/dashboards/{}", fx.sales)),
        "not the members' page: {text}"
    );
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/share/shr_"))
        .expect("a share link in the message")
        .trim_matches(|c: char| c == '<' || c == '>' || c == '(' || c == ')')
        .to_owned();
    assert!(html.contains(&link), "the button opens it too");
    let links = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links?dashboard_id={}", fx.sales),
            None,
        )
        .await;
    let made = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "Report: Morning sales")
        .expect("a link made for the report");
    assert_eq!(made["url"].as_str().unwrap(), link);
    assert_eq!(
        made["settings"]["locked_filters"],
        json!({ "region": "EMEA" }),
        "locked like the report"
    );
    assert_eq!(
        schedule.contents.live_link_id.as_deref(),
        made["id"].as_str()
    );
    let outsider = reqwest::Client::new().get(&link).send().await.unwrap();
    assert_eq!(outsider.status(), 200);
    assert!(html.contains("Open the live dashboard"));
    assert!(!html.contains("<script>alert(1)"), "the title is escaped");
    let mut pdf = None;
    let mut csv = None;
    let mut cids = Vec::new();
    for part in parsed.attachments() {
        let name = part.attachment_name().unwrap_or("").to_owned();
        let ct = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_default();
        if ct == "image/png" {
            let cid = part.content_id().unwrap().to_owned();
            assert!(
                html.contains(&format!("cid:{cid}")),
                "{cid} referenced from the HTML"
            );
            assert!(part.contents().starts_with(b"\x89PNG"));
            cids.push(cid);
        } else if name.ends_with(".pdf") {
            pdf = Some(part.contents().to_vec());
        } else if name.ends_with(".csv") {
            csv = Some(String::from_utf8(part.contents().to_vec()).unwrap());
        }
    }
    cids.sort();
    assert_eq!(cids, vec!["by-region.png", "total.png"]);
    let (pages, pdf_text) = pdf_text(&pdf.expect("a PDF attached"));
    assert_eq!(pages, 1);
    assert!(pdf_text.contains("Revenuebyregion"), "{pdf_text}");
    assert!(pdf_text.contains("Region:EMEA"), "{pdf_text}");
    assert!(
        !pdf_text.contains("AMER") && !pdf_text.contains("Enterprise"),
        "fixed filter in force: {pdf_text}"
    );
    let csv = csv.expect("a CSV attached");
    assert!(csv.contains("EMEA") && !csv.contains("AMER"), "{csv}");

    // The same slot again (a second pass, a restart): nothing more.
    let again = reports::tick(app).await.unwrap();
    assert_eq!(again.runs, 0);
    assert_eq!(sink.transactions(), 1);
    let history = reports::history(app, &owner, schedule.id, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "done");
    assert!(!history[0].late);
    assert_eq!(history[0].deliveries[0].state, "sent");
    assert!(
        history[0].deliveries[0]
            .provider_response
            .as_deref()
            .unwrap()
            .starts_with("250")
    );
}

#[tokio::test]
async fn slack_and_webhooks_are_signed_and_only_the_failing_recipient_is_retried_then_failed() {
    let receiver = Receiver::start().await;
    let fx = fixture_with(|c| {
        c.mail.max_attempts = 3;
        c.mail.retry_seconds = 60;
    })
    .await;
    let app = &fx.app.state;
    let owner = admin(&fx).await;
    receiver.fail("/broken", 500).await;
    let secret = "a shared secret of enough length";
    let mut input = daily_nine(
        fx.sales,
        vec![
            Recipient::Slack {
                webhook_url: receiver.url("/slack"),
                bot_token: None,
                channel: None,
            },
            Recipient::Webhook {
                url: receiver.url("/hook"),
                secret: secret.into(),
            },
            Recipient::Webhook {
                url: receiver.url("/broken"),
                secret: secret.into(),
            },
        ],
    );
    input.contents.png = false;
    let schedule = reports::create(app, &owner, &input).await.unwrap();
    fx.app.clock.set(NEXT_SLOT);
    reports::tick(app).await.unwrap();

    let slack = receiver.hits("/slack").await;
    assert_eq!(slack.len(), 1);
    let body = slack[0].json();
    assert_eq!(body["blocks"][0]["type"], "header");
    assert!(
        body["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Sales")
    );
    let url = body["blocks"][2]["elements"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/share/shr_", fx.app.base)),
        "the live link is a share link: {url}"
    );

    let hook = receiver.hits("/hook").await;
    assert_eq!(hook.len(), 1);
    let sig = hook[0].header("X-Vitrine-Signature").unwrap();
    let t: i64 = sig
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    assert_eq!(t, NEXT_SLOT.unix_timestamp());
    assert_eq!(
        sig,
        reports::deliver::signature(secret, t, &hook[0].body),
        "the signature verifies"
    );
    assert_ne!(
        sig,
        reports::deliver::signature("another secret entirely", t, &hook[0].body)
    );
    let payload = hook[0].json();
    assert_eq!(payload["event"], "report");
    let names: Vec<&str> = payload["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["report.pdf", "by-region.csv"]);

    // The failing recipient alone is retried after the backoff, until it runs out.
    assert_eq!(receiver.hits("/broken").await.len(), 1);
    for (attempt, wait) in [(2, 60), (3, 120)] {
        fx.app.clock.advance(Duration::seconds(wait - 1));
        reports::tick(app).await.unwrap();
        assert_eq!(
            receiver.hits("/broken").await.len(),
            attempt - 1,
            "not before the backoff"
        );
        fx.app.clock.advance(Duration::seconds(1));
        reports::tick(app).await.unwrap();
        assert_eq!(receiver.hits("/broken").await.len(), attempt);
    }
    fx.app.clock.advance(Duration::hours(2));
    reports::tick(app).await.unwrap();
    assert_eq!(
        receiver.hits("/broken").await.len(),
        3,
        "given up after max_attempts"
    );
    assert_eq!(
        receiver.hits("/slack").await.len(),
        1,
        "exactly one message"
    );
    assert_eq!(receiver.hits("/hook").await.len(), 1, "exactly one message");

    let history = reports::history(app, &owner, schedule.id, 10)
        .await
        .unwrap();
    assert_eq!(history[0].state, RunState::Done.as_str());
    let states: Vec<(&str, i64)> = history[0]
        .deliveries
        .iter()
        .map(|d| (d.state.as_str(), d.attempts))
        .collect();
    assert_eq!(states, vec![("sent", 1), ("sent", 1), ("failed", 3)]);
    let error = history[0].deliveries[2].last_error.as_deref().unwrap();
    assert!(
        error.contains("500") && error.contains("receiver exploded"),
        "{error}"
    );
}

#[tokio::test]
async fn a_creator_who_lost_access_pauses_the_schedule_and_tells_the_admins() {
    let fx = fixture_with(|_| {}).await;
    let app = &fx.app.state;
    let editor = fx
        .app
        .member(
            "ed@vitrine.test",
            vitrine_core::member::Role::Editor,
            Default::default(),
        )
        .await;
    // Without "Share publicly" the editor's report goes without a live link.
    let mut input = daily_nine(
        fx.sales,
        vec![Recipient::Email {
            address: "ann@acme.test".into(),
        }],
    );
    input.contents.live_link = false;
    let schedule = reports::create(app, &editor, &input).await.unwrap();
    // A viewer may not schedule.
    let viewer = fx
        .app
        .member(
            "vi@vitrine.test",
            vitrine_core::member::Role::Viewer,
            Default::default(),
        )
        .await;
    assert!(matches!(
        reports::create(
            app,
            &viewer,
            &daily_nine(
                fx.sales,
                vec![Recipient::Email {
                    address: "a@acme.test".into()
                }]
            )
        )
        .await,
        Err(vitrine_app::Error::Forbidden)
    ));
    app.store.delete_member(editor.id).await.ok();
    fx.app.clock.set(NEXT_SLOT);
    let ticked = reports::tick(app).await.unwrap();
    assert_eq!(ticked.paused, 1);
    let record = app
        .store
        .report_schedule(editor.workspace_id, schedule.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!record.enabled);
    assert!(record.paused_reason.unwrap().contains("paused"));
    let mails = app.store.mails(editor.workspace_id, 10).await.unwrap();
    assert!(
        mails
            .iter()
            .any(|m| m.kind == "report" && m.subject.contains("paused")),
        "the admins are told"
    );
}

async fn two_instances_send_each_slot_once(database_url: Option<String>) {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let fx = fixture_with(move |c| {
        c.mail.smtp_url = Some(smtp);
        if let Some(url) = database_url {
            c.database_url = Some(url);
        }
    })
    .await;
    let first: &App = &fx.app.state;
    let second = vitrine_app::prepare((*first.config).clone(), fx.app.clock.clone())
        .await
        .unwrap();
    let owner = admin(&fx).await;
    let recipients = ["a@acme.test", "b@acme.test", "c@acme.test"]
        .map(|a| Recipient::Email { address: a.into() })
        .to_vec();
    let schedule = reports::create(first, &owner, &daily_nine(fx.sales, recipients))
        .await
        .unwrap();
    for day in 0..2 {
        fx.app.clock.set(NEXT_SLOT + Duration::days(day));
        let (a, b) = tokio::join!(reports::tick(first), reports::tick(&second));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.runs + b.runs, 1, "day {day}: one run");
    }
    let received = sink.wait_for(6).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sink.transactions(), 6, "one message per recipient per slot");
    let mut to: Vec<String> = received.iter().flat_map(|r| r.to.clone()).collect();
    to.sort();
    assert_eq!(to.len(), 6);
    let runs = first.store.report_runs(schedule.id, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        let deliveries = first.store.report_deliveries(run.id).await.unwrap();
        assert!(
            deliveries
                .iter()
                .all(|d| d.state == MailState::Sent && d.attempts == 1)
        );
    }
}

#[tokio::test]
async fn two_instances_send_each_slot_once_on_sqlite() {
    two_instances_send_each_slot_once(None).await;
}

#[tokio::test]
async fn two_instances_send_each_slot_once_on_postgres() {
    let Some(db) =
        PgDatabase::create("reports::two_instances_send_each_slot_once_on_postgres").await
    else {
        return;
    };
    two_instances_send_each_slot_once(Some(db.url.clone())).await;
    db.drop_now().await;
}

#[tokio::test]
async fn the_api_creates_previews_and_refuses_bad_input_with_4xx() {
    let fx = fixture_with(|_| {}).await;
    let body = json!({
        "dashboard_id": fx.sales,
        "name": "Weekly",
        "frequency": { "kind": "weekly", "days": ["mon", "fri"], "at": "08:30" },
        "zone": "America/New_York",
        "recipients": [{ "kind": "email", "address": "ann@acme.test" }],
        "filters": { "region": "EMEA" },
    });
    let created = fx.api_post("/api/v1/reports", body.clone()).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["next_at"].as_array().unwrap().len(), 5);
    assert_eq!(created["contents"]["pdf"], true);
    let listed = fx
        .app
        .api()
        .get(
            fx.app
                .url(&format!("/api/v1/reports?dashboard_id={}", fx.sales)),
        )
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed[0]["id"], id);
    let preview = fx
        .app
        .api()
        .post(fx.app.url("/api/v1/reports/preview"))
        .bearer_auth(&fx.key)
        .json(&json!({ "frequency": { "kind": "daily", "at": "09:00" }, "zone": "Europe/Berlin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["next_at"][0], "2026-11-24T08:00:00Z");
    for (bad, field) in [
        (json!({ "zone": "Mars/Base" }), "zone"),
        (
            json!({ "frequency": { "kind": "cron", "expression": "61 * * * *" } }),
            "frequency",
        ),
        (
            json!({ "recipients": [{ "kind": "email", "address": "<script>" }] }),
            "recipients",
        ),
        (json!({ "filters": { "nope": "x" } }), "filters"),
        (json!({ "dashboard_id": 999_999 }), "dashboard_id"),
    ] {
        let mut input = body.clone();
        for (k, v) in bad.as_object().unwrap() {
            input[k] = v.clone();
        }
        let response = fx
            .app
            .api()
            .post(fx.app.url("/api/v1/reports"))
            .bearer_auth(&fx.key)
            .json(&input)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{field}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    // "Send a test to me": to the caller only, queued, then delivered.
    let tested = fx
        .app
        .api()
        .post(fx.app.url(&format!("/api/v1/reports/{id}/test")))
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 202);
    reports::deliver::drain(&fx.app.state).await.unwrap();
    let runs: Value = fx
        .app
        .api()
        .get(fx.app.url(&format!("/api/v1/reports/{id}/runs")))
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(runs[0]["origin"], "test");
    assert_eq!(runs[0]["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["deliveries"][0]["target"], "admin@example.com");
    assert_eq!(runs[0]["deliveries"][0]["state"], "sent");
    // Recipients outside the workspace's allowed domains are refused.
    let ws = fx
        .app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap()
        .id;
    fx.app
        .state
        .store
        .set_report_email_domains(ws, &["example.com".to_owned()])
        .await
        .unwrap();
    let response = fx
        .app
        .api()
        .post(fx.app.url("/api/v1/reports"))
        .bearer_auth(&fx.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("allowed e-mail domains")
    );
    let missing = fx
        .app
        .api()
        .get(fx.app.url("/api/v1/reports/424242/runs"))
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn sql_in_a_fixed_filter_value_is_a_value_not_sql() {
    let fx = fixture_with(|_| {}).await;
    let app = &fx.app.state;
    let owner = admin(&fx).await;
    let mut input = daily_nine(
        fx.sales,
        vec![Recipient::Email {
            address: "ann@acme.test".into(),
        }],
    );
    input.filters = serde_json::from_value(json!({ "region": "x' OR '1'='1" })).unwrap();
    let schedule = reports::create(app, &owner, &input).await.unwrap();
    let record = app
        .store
        .report_schedule(owner.workspace_id, schedule.id)
        .await
        .unwrap()
        .unwrap();
    let parsed = reports::spec::parse(&record).unwrap();
    let rendered = reports::run::render(app, &record, &parsed).await.unwrap();
    let csv = rendered
        .artifacts
        .iter()
        .find(|a| a.name == "by-region.csv")
        .unwrap();
    let text = String::from_utf8(csv.content.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "only the header: {text}");
    assert!(rendered.empty, "no rows match the literal value");
}

#[tokio::test]
async fn a_report_runs_under_its_creators_data_rules() {
    let fx = fixture_with(|_| {}).await;
    let app = &fx.app.state;
    let owner = admin(&fx).await;
    let input = daily_nine(
        fx.sales,
        vec![Recipient::Email {
            address: "ann@acme.test".into(),
        }],
    );
    let schedule = reports::create(app, &owner, &input).await.unwrap();
    let record = app
        .store
        .report_schedule(owner.workspace_id, schedule.id)
        .await
        .unwrap()
        .unwrap();
    let parsed = reports::spec::parse(&record).unwrap();
    let csv_of = |rendered: &reports::run::Rendered| {
        let csv = rendered
            .artifacts
            .iter()
            .find(|a| a.name == "by-region.csv")
            .unwrap();
        String::from_utf8(csv.content.clone()).unwrap()
    };
    let before = csv_of(&reports::run::render(app, &record, &parsed).await.unwrap());
    assert!(
        before.contains("Growth") && before.contains("Starter"),
        "{before}"
    );
    // The creator now sees only the Growth plan: the report shows what their page shows.
    vitrine_app::data_permissions::add(
        app,
        &vitrine_app::accounts::Acting::Cli,
        owner.workspace_id,
        vitrine_app::data_permissions::NewDataRule {
            member_id: Some(owner.id),
            role: None,
            rule: serde_json::from_value(json!({ "column": "plan", "op": "=", "value": "Growth" }))
                .unwrap(),
        },
    )
    .await
    .unwrap();
    let after = csv_of(&reports::run::render(app, &record, &parsed).await.unwrap());
    assert!(
        after.contains("Growth") && !after.contains("Starter"),
        "{after}"
    );
}

const BOT_TOKEN: &str = "xoxb-1234-5678-SeCrEtPaRt";
const CHANNEL: &str = "C0123ABCD";

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A Slack recipient with a bot token: the webhook message, then each widget's PNG through
/// Slack's external upload flow (against the local receiver standing in for slack.com/api).
/// Slack's `ok: false` fails the attempt with Slack's error; the retry uploads again without
/// posting the message twice; the token is in no answer, page, error or stored row.
async fn a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried(
    database_url: Option<String>,
) {
    let receiver = Receiver::start().await;
    let api = receiver.url("/api");
    let fx = fixture_with(move |c| {
        c.mail.max_attempts = 3;
        c.mail.retry_seconds = 60;
        c.reports.slack_api_base = api;
        if let Some(url) = database_url {
            c.database_url = Some(url);
        }
    })
    .await;
    let app = &fx.app.state;
    let owner = admin(&fx).await;
    let upload_base = receiver.url("/upload");
    receiver.respond("/api/files.getUploadURLExternal", move |n| {
        let answer = json!({ "ok": true, "upload_url": format!("{upload_base}/F{n}"), "file_id": format!("F{n}") });
        (200, answer.to_string())
    });
    // Slack refuses the first completion: the bot is not in the channel yet.
    receiver.respond("/api/files.completeUploadExternal", |n| {
        if n == 0 {
            (
                200,
                json!({ "ok": false, "error": "not_in_channel" }).to_string(),
            )
        } else {
            (
                200,
                json!({ "ok": true, "files": [{ "id": "F0" }] }).to_string(),
            )
        }
    });
    let mut input = daily_nine(
        fx.sales,
        vec![Recipient::Slack {
            webhook_url: receiver.url("/slack"),
            bot_token: Some(reports::SlackToken::new(BOT_TOKEN)),
            channel: Some(CHANNEL.into()),
        }],
    );
    input.contents.pdf = false;
    input.contents.csv = Vec::new();
    let schedule = reports::create(app, &owner, &input).await.unwrap();
    let stored = app
        .store
        .report_schedule(owner.workspace_id, schedule.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.recipients.contains("SeCrEtPaRt") && stored.recipients.contains("sealed:v1."),
        "sealed at rest: {}",
        stored.recipients
    );

    fx.app.clock.set(NEXT_SLOT);
    reports::tick(app).await.unwrap();
    assert_eq!(receiver.hits("/slack").await.len(), 1, "the message");
    let run = reports::history(app, &owner, schedule.id, 1).await.unwrap()[0].id;
    let pngs: Vec<_> = app
        .store
        .report_artifacts(run)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.mime == "image/png")
        .collect();
    assert!(!pngs.is_empty());
    let asked = receiver.hits("/api/files.getUploadURLExternal").await;
    assert_eq!(asked.len(), pngs.len(), "one upload URL per picture");
    for (i, (hit, png)) in asked.iter().zip(&pngs).enumerate() {
        assert_eq!(
            hit.header("Authorization"),
            Some(format!("Bearer {BOT_TOKEN}").as_str())
        );
        assert!(
            hit.header("Content-Type")
                .unwrap()
                .starts_with("application/x-www-form-urlencoded")
        );
        let form = form_pairs(&hit.body);
        assert!(
            form.contains(&("filename".into(), png.name.clone())),
            "{form:?}"
        );
        assert!(form.contains(&("length".into(), png.content.len().to_string())));
        let uploaded = receiver.hits(&format!("/upload/F{i}")).await;
        assert_eq!(uploaded.len(), 1);
        assert_eq!(uploaded[0].body, png.content, "the PNG's bytes");
        assert!(uploaded[0].body.starts_with(b"\x89PNG"));
        assert_eq!(
            uploaded[0].header("Authorization"),
            None,
            "the upload URL never gets the token"
        );
    }
    let completed = receiver.hits("/api/files.completeUploadExternal").await;
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0].header("Authorization"),
        Some(format!("Bearer {BOT_TOKEN}").as_str())
    );
    let body = completed[0].json();
    assert_eq!(body["channel_id"], CHANNEL);
    let ids: Vec<&str> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..pngs.len()).map(|i| format!("F{i}")).collect();
    assert_eq!(ids, expected);
    assert!(
        body["initial_comment"]
            .as_str()
            .unwrap()
            .starts_with("Sales")
    );

    let history = reports::history(app, &owner, schedule.id, 1).await.unwrap();
    let d = &history[0].deliveries[0];
    assert_eq!(
        (d.state.as_str(), d.attempts),
        ("queued", 1),
        "to be retried"
    );
    let error = d.last_error.as_deref().unwrap();
    assert!(
        error.contains("files.completeUploadExternal") && error.contains("not_in_channel"),
        "{error}"
    );

    // The retry uploads again, without posting the message a second time.
    fx.app.clock.advance(Duration::seconds(60));
    reports::tick(app).await.unwrap();
    assert_eq!(receiver.hits("/slack").await.len(), 1, "the message once");
    assert_eq!(
        receiver
            .hits("/api/files.completeUploadExternal")
            .await
            .len(),
        2
    );
    let history = reports::history(app, &owner, schedule.id, 1).await.unwrap();
    let d = &history[0].deliveries[0];
    assert_eq!((d.state.as_str(), d.attempts), ("sent", 2));
    let response = d.provider_response.as_deref().unwrap();
    assert!(
        response.starts_with("webhook: 200") && response.contains(&format!("shared in {CHANNEL}")),
        "{response}"
    );

    // The token shows nowhere: API answers, the form, the run history page.
    let api_view = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/reports/{}", schedule.id),
            None,
        )
        .await;
    assert_eq!(api_view["recipients"][0]["bot_token"], "", "set, not shown");
    assert_eq!(api_view["recipients"][0]["channel"], CHANNEL);
    let runs = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/reports/{}/runs", schedule.id),
            None,
        )
        .await;
    let (client, _) = fx.app.signed_in("admin@example.com").await;
    let mut seen = vec![api_view.to_string(), runs.to_string()];
    for path in [
        format!("/reports/{}", schedule.id),
        format!("/reports/{}/runs", schedule.id),
        "/reports".to_owned(),
    ] {
        let response = client.get(fx.app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        seen.push(response.text().await.unwrap());
    }
    assert!(
        seen[2].contains("token set"),
        "the form says a token is set"
    );
    for text in &seen {
        assert!(!text.contains("SeCrEtPaRt"), "the token leaked: {text}");
    }

    // Sending the view back keeps the token; without the channel it is cleared.
    let mut back = api_view.clone();
    for key in ["id", "paused_reason", "run_as", "next_at", "next_local"] {
        back.as_object_mut().unwrap().remove(key);
    }
    let kept = fx
        .api_send(
            reqwest::Method::PUT,
            &format!("/api/v1/reports/{}", schedule.id),
            Some(back.clone()),
        )
        .await;
    assert_eq!(kept["recipients"][0]["bot_token"], "");
    let record = app
        .store
        .report_schedule(owner.workspace_id, schedule.id)
        .await
        .unwrap()
        .unwrap();
    let parsed = reports::spec::parse(&record).unwrap();
    let Recipient::Slack {
        bot_token: Some(token),
        ..
    } = &parsed.recipients[0]
    else {
        panic!("the token is kept: {:?}", parsed.recipients);
    };
    assert_eq!(
        reports::open_secret(app, token.expose()).unwrap(),
        BOT_TOKEN,
        "the same token, sealed"
    );
    back["recipients"] = json!([{ "kind": "slack", "webhook_url": receiver.url("/slack") }]);
    let cleared = fx
        .api_send(
            reqwest::Method::PUT,
            &format!("/api/v1/reports/{}", schedule.id),
            Some(back),
        )
        .await;
    assert!(cleared["recipients"][0].get("bot_token").is_none());
}

#[tokio::test]
async fn a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried_on_sqlite() {
    a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried(None).await;
}

#[tokio::test]
async fn a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried_on_postgres() {
    let Some(db) = PgDatabase::create(
        "reports::a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried_on_postgres",
    )
    .await
    else {
        return;
    };
    a_slack_bot_token_uploads_each_picture_and_slack_errors_are_retried(Some(db.url.clone())).await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_slack_bot_token_with_a_line_break_or_without_a_channel_is_refused() {
    let fx = fixture_with(|_| {}).await;
    for (token, channel) in [
        ("xoxb-1-2-abc\r\nX-Injected: yes", Some(CHANNEL)),
        ("xoxb-1-2-abc\nX-Injected: yes", Some(CHANNEL)),
        ("xoxb-1-2 abc", Some(CHANNEL)),
        ("Bearer xoxb-1-2-abc", Some(CHANNEL)),
        (BOT_TOKEN, None),
        (BOT_TOKEN, Some("#general")),
    ] {
        let response = fx
            .app
            .api()
            .post(fx.app.url("/api/v1/reports"))
            .bearer_auth(&fx.key)
            .json(&json!({
                "dashboard_id": fx.sales,
                "name": "Slack",
                "frequency": { "kind": "daily", "at": "09:00" },
                "zone": "UTC",
                "recipients": [{ "kind": "slack", "webhook_url": "https://hooks.slack.test/services/T/B/x",
                                 "bot_token": token, "channel": channel }],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{token:?} {channel:?}");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("abc") && !text.contains("SeCrEt"),
            "not echoed: {text}"
        );
    }
}
