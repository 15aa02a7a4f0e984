//! A real MaxMind DB file, written by the test (the format is documented and small:
//! <https://maxmind.github.io/MaxMind-DB/>), so the GeoIP path runs against what GeoLite2 or
//! DB-IP ship, not only the proxy header: a binary search tree over the address bits
//! (24-bit records), 16 zero bytes, a data section of typed values, and the metadata map after
//! `\xAB\xCD\xEFMaxMind.com`. Then a server configured with it, visited from two countries.

use std::net::Ipv4Addr;

use serde_json::Value;

use crate::helpers::{CLIENT_HEADER, TestApp, trust_client_header};
use crate::links::shared_dashboard;

// ---- the data section's encoding -------------------------------------------------------------

fn control(kind: u8, size: usize, out: &mut Vec<u8>) {
    assert!(size < 29, "small values only");
    if kind <= 7 {
        out.push((kind << 5) | size as u8);
    } else {
        out.push(size as u8);
        out.push(kind - 7);
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    control(2, s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

fn unsigned(kind: u8, n: u64, out: &mut Vec<u8>) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(kind, 8 - skip, out);
    out.extend_from_slice(&bytes[skip..]);
}

enum V<'a> {
    Str(&'a str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'a str, V<'a>)>),
    Array(Vec<V<'a>>),
}

fn encode(v: &V<'_>, out: &mut Vec<u8>) {
    match v {
        V::Str(s) => string(s, out),
        V::U16(n) => unsigned(5, u64::from(*n), out),
        V::U32(n) => unsigned(6, u64::from(*n), out),
        V::U64(n) => unsigned(9, *n, out),
        V::Map(entries) => {
            control(7, entries.len(), out);
            for (k, v) in entries {
                string(k, out);
                encode(v, out);
            }
        }
        V::Array(items) => {
            control(11, items.len(), out);
            for v in items {
                encode(v, out);
            }
        }
    }
}

// ---- the search tree -------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv4 database mapping each `/len` network to an ISO country code.
pub fn country_database(networks: &[(Ipv4Addr, u8, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty; 2]];
    for (ip, len, code) in networks {
        let offset = data.len();
        encode(
            &V::Map(vec![("country", V::Map(vec![("iso_code", V::Str(code))]))]),
            &mut data,
        );
        let bits = u32::from(*ip);
        let mut node = 0;
        for depth in 0..*len {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == *len {
                nodes[node][bit] = Rec::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Rec::Node(next) => next,
                    _ => {
                        nodes.push([Rec::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][bit] = Rec::Node(next);
                        next
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for rec in node {
            let value = match *rec {
                Rec::Empty => count,
                Rec::Node(i) => i,
                Rec::Data(offset) => count + 16 + offset,
            };
            out.extend_from_slice(&(value as u32).to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    encode(
        &V::Map(vec![
            ("binary_format_major_version", V::U16(2)),
            ("binary_format_minor_version", V::U16(0)),
            ("build_epoch", V::U64(1_764_000_000)),
            ("database_type", V::Str("Vitrine-Test-Country")),
            ("description", V::Map(vec![("en", V::Str("test"))])),
            ("ip_version", V::U16(4)),
            ("languages", V::Array(vec![V::Str("en")])),
            ("node_count", V::U32(count as u32)),
            ("record_size", V::U16(24)),
        ]),
        &mut out,
    );
    out
}

#[tokio::test]
async fn countries_come_from_a_maxmind_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countries.mmdb");
    std::fs::write(
        &path,
        country_database(&[
            (Ipv4Addr::new(203, 0, 113, 0), 24, "NL"),
            (Ipv4Addr::new(198, 51, 100, 0), 24, "BR"),
            (Ipv4Addr::new(10, 0, 0, 0), 8, "DE"),
        ]),
    )
    .unwrap();
    // The database itself, read by the same crate the server uses.
    let reader = maxminddb::Reader::open_readfile(&path).unwrap();
    let found = reader.lookup("203.0.113.99".parse().unwrap()).unwrap();
    let code: Option<String> = found
        .decode_path(&[
            maxminddb::PathElement::Key("country"),
            maxminddb::PathElement::Key("iso_code"),
        ])
        .unwrap();
    assert_eq!(code.as_deref(), Some("NL"));

    let db = path.clone();
    let app = TestApp::spawn_with(move |config| {
        trust_client_header(config);
        config.geoip_database = Some(db);
    })
    .await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let created: Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "Board" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["url"].as_str().unwrap();
    for client in ["203.0.113.7", "203.0.113.8", "198.51.100.9", "192.0.2.1"] {
        let status = app
            .browser()
            .get(url)
            .header(CLIENT_HEADER, client)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    let link = created["id"].as_str().unwrap();
    let a: Value = app
        .api()
        .get(app.url(&format!("/api/v1/links/{link}/analytics")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let countries: Vec<(String, i64)> = a["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        countries,
        [
            ("NL".to_owned(), 2),
            ("BR".to_owned(), 1),
            ("unknown".to_owned(), 1)
        ]
    );
}
