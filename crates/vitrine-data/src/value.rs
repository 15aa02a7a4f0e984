//! Per-dialect decoding of result cells into [`Value`], and coercion to the declared type.
//!
//! Drivers disagree: SQLite has dynamic types and stores dates as text, PostgreSQL sums
//! integers into `numeric`, MySQL sends `DECIMAL` as text and booleans as `TINYINT(1)`.
//! Each cell is first decoded from what the driver says it *is*, then [`coerce`]d to what the
//! compiled statement says it *should be*, so the renderer sees one shape from every database.

use sqlx::mysql::MySqlRow;
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use vitrine_core::result::{ColumnType, Value};

/// `2026-11-23`.
pub(crate) fn iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// `2026-11-23T10:00:00` (with `.fff…` when there are fractions of a second).
fn iso_datetime(t: PrimitiveDateTime) -> String {
    let base = t
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    if t.nanosecond() == 0 {
        base
    } else {
        let frac = format!("{:09}", t.nanosecond());
        format!("{base}.{}", frac.trim_end_matches('0'))
    }
}

/// `2026-11-23T10:00:00Z`, in UTC.
fn iso_utc(t: OffsetDateTime) -> String {
    // Checked: moving to UTC can cross the end of the calendar.
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(u) => format!(
            "{}Z",
            iso_datetime(PrimitiveDateTime::new(u.date(), u.time()))
        ),
        None => format!(
            "{}{}",
            iso_datetime(PrimitiveDateTime::new(t.date(), t.time())),
            t.offset()
        ),
    }
}

pub(crate) fn decode_sqlite(row: &SqliteRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    // The value's storage class, not the column's declared type.
    let class = raw.type_info().name().to_string();
    match class.as_str() {
        "INTEGER" | "BOOLEAN" => row.try_get_unchecked::<i64, _>(i).map(Value::Int),
        "REAL" | "NUMERIC" => row.try_get_unchecked::<f64, _>(i).map(Value::Float),
        _ => row.try_get_unchecked::<String, _>(i).map(Value::Text),
    }
    .unwrap_or(Value::Null)
}

pub(crate) fn decode_pg(row: &PgRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let ty = raw.type_info().name().to_string();
    let v = match ty.as_str() {
        "BOOL" => row.try_get_unchecked::<bool, _>(i).map(Value::Bool),
        "INT2" => row
            .try_get_unchecked::<i16, _>(i)
            .map(|v| Value::Int(v.into())),
        "INT4" => row
            .try_get_unchecked::<i32, _>(i)
            .map(|v| Value::Int(v.into())),
        "INT8" => row.try_get_unchecked::<i64, _>(i).map(Value::Int),
        "OID" => row.try_get_unchecked::<i64, _>(i).map(Value::Int),
        "FLOAT4" => row
            .try_get_unchecked::<f32, _>(i)
            .map(|v| Value::Float(v.into())),
        "FLOAT8" => row.try_get_unchecked::<f64, _>(i).map(Value::Float),
        "NUMERIC" => {
            return match raw.format() {
                PgValueFormat::Binary => raw
                    .as_bytes()
                    .ok()
                    .and_then(pg_numeric)
                    .map(Value::Float)
                    .unwrap_or(Value::Null),
                PgValueFormat::Text => raw
                    .as_str()
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(Value::Float)
                    .unwrap_or(Value::Null),
            };
        }
        // Binary dates and timestamps are decoded here, with checked arithmetic: sqlx adds
        // them to its epoch unchecked and panics on `infinity` or a year past 9999, which
        // PostgreSQL stores happily.
        "DATE" | "TIMESTAMP" | "TIMESTAMPTZ" if raw.format() == PgValueFormat::Binary => {
            return raw
                .as_bytes()
                .map(|b| pg_temporal(&ty, b))
                .unwrap_or(Value::Null);
        }
        "DATE" => row
            .try_get_unchecked::<Date, _>(i)
            .map(|d| Value::Text(iso_date(d))),
        "TIMESTAMP" => row
            .try_get_unchecked::<PrimitiveDateTime, _>(i)
            .map(|t| Value::Text(iso_datetime(t))),
        "TIMESTAMPTZ" => row
            .try_get_unchecked::<OffsetDateTime, _>(i)
            .map(|t| Value::Text(iso_utc(t))),
        "UUID" => {
            return match raw.as_bytes() {
                Ok(b) if b.len() == 16 => {
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    Value::Text(format!(
                        "{}-{}-{}-{}-{}",
                        &hex[..8],
                        &hex[8..12],
                        &hex[12..16],
                        &hex[16..20],
                        &hex[20..]
                    ))
                }
                _ => Value::Null,
            };
        }
        // Binary `jsonb` is a version byte (1) followed by the JSON text.
        "JSONB" if raw.format() == PgValueFormat::Binary => {
            return match raw.as_bytes().map(|b| b.split_first()) {
                Ok(Some((1, rest))) => std::str::from_utf8(rest)
                    .map(|s| Value::Text(s.to_string()))
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            };
        }
        _ => {
            // Text-like types; anything else that is valid UTF-8 on the wire is shown as text.
            return match raw.as_bytes().map(std::str::from_utf8) {
                Ok(Ok(s)) => Value::Text(s.to_string()),
                _ => Value::Null,
            };
        }
    };
    v.unwrap_or(Value::Null)
}

/// PostgreSQL's binary `numeric`: ndigits, weight, sign, dscale, then base-10000 digits.
fn pg_numeric(b: &[u8]) -> Option<f64> {
    let word = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16;
    let sign = word(4)?;
    match sign {
        0xC000 => return Some(f64::NAN),
        0xD000 => return Some(f64::INFINITY),
        0xF000 => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    if ndigits == 0 {
        return Some(0.0);
    }
    let mut mantissa = String::with_capacity(ndigits * 4 + 1);
    if sign == 0x4000 {
        mantissa.push('-');
    }
    for k in 0..ndigits {
        mantissa.push_str(&format!("{:04}", word(8 + 2 * k)?));
    }
    let exp = 4 * (i64::from(weight) - (ndigits as i64 - 1));
    format!("{mantissa}e{exp}").parse().ok()
}

/// PostgreSQL's binary `date` (days since 2000-01-01, 4 bytes) or `timestamp[tz]`
/// (microseconds since 2000-01-01 00:00 UTC, 8 bytes). `infinity` and `-infinity` become that
/// text; a value `time` cannot represent (past the year 9999) becomes NULL.
pub(crate) fn pg_temporal(ty: &str, bytes: &[u8]) -> Value {
    const EPOCH: Date = time::macros::date!(2000 - 01 - 01);
    let text = |s: &str| Value::Text(s.to_string());
    if ty == "DATE" {
        let Ok(b) = <[u8; 4]>::try_from(bytes) else {
            return Value::Null;
        };
        return match i32::from_be_bytes(b) {
            i32::MAX => text("infinity"),
            i32::MIN => text("-infinity"),
            days => EPOCH
                .checked_add(time::Duration::days(days.into()))
                .map_or(Value::Null, |d| Value::Text(iso_date(d))),
        };
    }
    let Ok(b) = <[u8; 8]>::try_from(bytes) else {
        return Value::Null;
    };
    match i64::from_be_bytes(b) {
        i64::MAX => text("infinity"),
        i64::MIN => text("-infinity"),
        micros => EPOCH
            .midnight()
            .checked_add(time::Duration::microseconds(micros))
            .map_or(Value::Null, |t| {
                let iso = iso_datetime(t);
                Value::Text(if ty == "TIMESTAMPTZ" {
                    format!("{iso}Z")
                } else {
                    iso
                })
            }),
    }
}

pub(crate) fn decode_mysql(row: &MySqlRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let ty = raw.type_info().name().to_string();
    let v = match ty.as_str() {
        "BOOLEAN" => row
            .try_get_unchecked::<i64, _>(i)
            .map(|v| Value::Bool(v != 0)),
        "BIGINT UNSIGNED" => row
            .try_get_unchecked::<u64, _>(i)
            .map(|v| match i64::try_from(v) {
                Ok(v) => Value::Int(v),
                Err(_) => Value::Float(v as f64),
            }),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "TINYINT UNSIGNED"
        | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" | "YEAR" => {
            row.try_get_unchecked::<i64, _>(i).map(Value::Int)
        }
        "FLOAT" => row
            .try_get_unchecked::<f32, _>(i)
            .map(|v| Value::Float(v.into())),
        "DOUBLE" => row.try_get_unchecked::<f64, _>(i).map(Value::Float),
        "DECIMAL" => row
            .try_get_unchecked::<String, _>(i)
            .map(|s| s.parse().map(Value::Float).unwrap_or(Value::Null)),
        "DATE" => row
            .try_get_unchecked::<Date, _>(i)
            .map(|d| Value::Text(iso_date(d))),
        "DATETIME" | "TIMESTAMP" => row
            .try_get_unchecked::<PrimitiveDateTime, _>(i)
            .map(|t| Value::Text(iso_datetime(t))),
        _ => row.try_get_unchecked::<String, _>(i).map(Value::Text),
    };
    v.unwrap_or(Value::Null)
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    looks_like_date(s) && b.len() >= 16 && (b[10] == b' ' || b[10] == b'T') && b[13] == b':'
}

/// Brings a decoded cell to the declared type of its column.
pub fn coerce(v: Value, kind: ColumnType) -> Value {
    match (kind, v) {
        (_, Value::Null) => Value::Null,
        (ColumnType::Integer, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Value::Int(f as i64)
        }
        (ColumnType::Integer, Value::Bool(b)) => Value::Int(i64::from(b)),
        (ColumnType::Integer, Value::Text(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => s
                .trim()
                .parse::<f64>()
                .map(Value::Float)
                .unwrap_or(Value::Text(s)),
        },
        (ColumnType::Number, Value::Int(i)) => Value::Float(i as f64),
        (ColumnType::Number, Value::Text(s)) => s
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::Text(s)),
        (ColumnType::Boolean, Value::Int(i)) => Value::Bool(i != 0),
        (ColumnType::Boolean, Value::Text(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" => Value::Bool(true),
            "false" | "f" | "0" | "no" => Value::Bool(false),
            _ => Value::Text(s),
        },
        (ColumnType::Date, Value::Text(s)) if looks_like_date(&s) => {
            Value::Text(s[..10].to_string())
        }
        (ColumnType::Timestamp, Value::Text(s)) if looks_like_timestamp(&s) => {
            let mut t = s;
            t.replace_range(10..11, "T");
            Value::Text(t)
        }
        (ColumnType::Text, Value::Int(i)) => Value::Text(i.to_string()),
        (ColumnType::Text, Value::Float(f)) => Value::Text(f.to_string()),
        (ColumnType::Text, Value::Bool(b)) => Value::Text(b.to_string()),
        (_, v) => v,
    }
}

/// The type of SQLite column `i` judged from sample rows: the storage class of the first
/// non-null value, with ISO-looking text taken as a date or timestamp.
pub(crate) fn sqlite_infer(rows: &[SqliteRow], i: usize) -> Option<ColumnType> {
    let mut text_kind: Option<ColumnType> = None;
    for row in rows {
        match decode_sqlite(row, i) {
            Value::Null => continue,
            Value::Int(_) | Value::Bool(_) => return Some(ColumnType::Integer),
            Value::Float(_) => return Some(ColumnType::Number),
            Value::Text(s) => {
                let k = if looks_like_timestamp(&s) {
                    ColumnType::Timestamp
                } else if looks_like_date(&s) && s.len() == 10 {
                    ColumnType::Date
                } else {
                    return Some(ColumnType::Text);
                };
                text_kind = Some(match (text_kind, k) {
                    (Some(ColumnType::Timestamp), _) | (_, ColumnType::Timestamp) => {
                        ColumnType::Timestamp
                    }
                    _ => ColumnType::Date,
                });
            }
        }
    }
    text_kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_binary_numerics_decode_to_floats() {
        // 12345.678: ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
        let bytes = [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C];
        assert_eq!(pg_numeric(&bytes), Some(12345.678));
        // -0.05: ndigits 1, weight -1, sign -, digits 500
        let bytes = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x01, 0xF4];
        assert_eq!(pg_numeric(&bytes), Some(-0.05));
        assert_eq!(pg_numeric(&[0, 0, 0, 0, 0, 0, 0, 0]), Some(0.0));
    }

    #[test]
    fn postgres_binary_dates_beyond_the_calendar_decode_without_panicking() {
        let date = |days: i32| pg_temporal("DATE", &days.to_be_bytes());
        let ts = |ty: &str, us: i64| pg_temporal(ty, &us.to_be_bytes());
        assert_eq!(date(0), Value::Text("2000-01-01".into()));
        assert_eq!(date(-1), Value::Text("1999-12-31".into()));
        assert_eq!(date(i32::MAX), Value::Text("infinity".into()));
        assert_eq!(date(i32::MIN), Value::Text("-infinity".into()));
        assert_eq!(
            date(i32::MAX - 1),
            Value::Null,
            "year 5,881,580 is not a `time` date"
        );
        assert_eq!(
            ts("TIMESTAMP", 86_400_000_000 + 1_500_000),
            Value::Text("2000-01-02T00:00:01.5".into())
        );
        assert_eq!(
            ts("TIMESTAMPTZ", 0),
            Value::Text("2000-01-01T00:00:00Z".into())
        );
        assert_eq!(ts("TIMESTAMP", i64::MAX), Value::Text("infinity".into()));
        assert_eq!(ts("TIMESTAMPTZ", i64::MIN), Value::Text("-infinity".into()));
        assert_eq!(ts("TIMESTAMP", i64::MAX - 1), Value::Null);
        assert_eq!(ts("TIMESTAMP", i64::MIN + 1), Value::Null);
        assert_eq!(pg_temporal("DATE", &[1, 2]), Value::Null);
        assert_eq!(pg_temporal("TIMESTAMP", &[]), Value::Null);
    }

    #[test]
    fn cells_are_coerced_to_the_declared_type() {
        assert_eq!(
            coerce(Value::Float(42.0), ColumnType::Integer),
            Value::Int(42)
        );
        assert_eq!(
            coerce(Value::Int(1), ColumnType::Boolean),
            Value::Bool(true)
        );
        assert_eq!(coerce(Value::Int(3), ColumnType::Number), Value::Float(3.0));
        assert_eq!(
            coerce(Value::Text("2026-11-01 00:00:00".into()), ColumnType::Date),
            Value::Text("2026-11-01".into())
        );
        assert_eq!(
            coerce(
                Value::Text("2026-11-01 10:30:00".into()),
                ColumnType::Timestamp
            ),
            Value::Text("2026-11-01T10:30:00".into())
        );
        assert_eq!(
            coerce(Value::Text("12.50".into()), ColumnType::Number),
            Value::Float(12.5)
        );
        assert_eq!(coerce(Value::Null, ColumnType::Integer), Value::Null);
    }

    #[test]
    fn datetimes_are_written_as_iso_text() {
        use time::macros::datetime;
        assert_eq!(
            iso_datetime(datetime!(2026-11-23 10:00:00)),
            "2026-11-23T10:00:00"
        );
        assert_eq!(
            iso_datetime(datetime!(2026-11-23 10:00:00.25)),
            "2026-11-23T10:00:00.25"
        );
        assert_eq!(
            iso_utc(datetime!(2026-11-23 11:00:00 +1)),
            "2026-11-23T10:00:00Z"
        );
    }
}
