//! Query results: what the data layer produces and the renderer draws.

use serde::{Deserialize, Serialize};

/// The type of a result column, as far as charts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Whole numbers.
    Integer,
    /// Real numbers (floating point or decimal).
    Number,
    /// Text.
    Text,
    /// True / false.
    Boolean,
    /// A date without time.
    Date,
    /// A point in time.
    Timestamp,
}

impl ColumnType {
    /// Integers and numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Number)
    }

    /// Dates and timestamps.
    pub fn is_temporal(self) -> bool {
        matches!(self, ColumnType::Date | ColumnType::Timestamp)
    }
}

/// A column of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    /// The name, as the query produced it.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
}

/// One cell. Dates and timestamps travel as ISO-8601 text (`2026-11-23`,
/// `2026-11-23T10:00:00Z`) so every dialect maps to the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// Text, or a date / timestamp in ISO-8601.
    Text(String),
}

impl Value {
    /// The numeric value, if any.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// A result table: columns and rows of equal width.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultTable {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows; each has `columns.len()` cells.
    pub rows: Vec<Vec<Value>>,
    /// True when the row cap cut the result.
    #[serde(default)]
    pub truncated: bool,
}

impl ResultTable {
    /// The index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// The currencies shown with their own symbol, as `(ISO-4217 code, symbol, decimals)`. Any
/// other code is accepted too, and shown as the code before the amount.
pub const KNOWN_CURRENCIES: [(&str, &str, usize); 4] = [
    ("USD", "$", 2),
    ("EUR", "€", 2),
    ("GBP", "£", 2),
    ("JPY", "¥", 0),
];

/// How a number is shown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case")]
pub enum NumberFormat {
    /// Thousands separators, up to `decimals` decimals (default: sensible for the magnitude).
    #[default]
    Number,
    /// A currency amount: `currency` is an ISO-4217 code such as `USD` or `EUR`.
    Currency {
        /// The ISO-4217 code.
        currency: String,
    },
    /// A ratio shown as a percentage (`0.25` → `25%`).
    Percent,
    /// A number of seconds shown as a duration (`3725` → `1h 2m`).
    Duration,
}
