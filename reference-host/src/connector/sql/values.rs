//! Values between the connector's scalars and the database's columns: decoding a row's value
//! through `Any`, which declared types a column can carry, date-times in each engine's form,
//! and the checks every value passes before anything is written.

use indexmap::IndexMap;
use scim_proto::schema::AttrType;
use scim_proto::value::Scalar;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::connector::{AttributeChange, ConnectorError};
use ecma_vocab::sql::SqlType;

/// Reads one column as a typed value; NULL is `None`.
pub(super) fn decode(
    row: &AnyRow,
    index: usize,
    kind: AttrType,
) -> Result<Option<Scalar>, sqlx::Error> {
    Ok(match kind {
        AttrType::Boolean => row
            .try_get::<Option<i64>, _>(index)?
            .map(|n| Scalar::Boolean(n != 0)),
        AttrType::Integer => row.try_get::<Option<i64>, _>(index)?.map(Scalar::Integer),
        AttrType::DateTime => row
            .try_get::<Option<String>, _>(index)?
            .map(|s| Scalar::String(canonical_datetime(&s))),
        _ => row.try_get::<Option<String>, _>(index)?.map(Scalar::String),
    })
}

/// Whether a column of this family can carry values of the declared SCIM type.
pub(super) fn carries(sql: SqlType, declared: AttrType) -> bool {
    use SqlType as S;
    match declared {
        AttrType::String | AttrType::Reference => matches!(
            sql,
            S::Text | S::Uuid | S::Numeric | S::Integer | S::Date | S::Time | S::Timestamp { .. }
        ),
        AttrType::Boolean => matches!(sql, S::Boolean | S::Integer),
        AttrType::Integer => matches!(sql, S::Integer | S::Numeric),
        AttrType::Decimal => matches!(sql, S::Numeric | S::Integer),
        AttrType::DateTime => matches!(sql, S::Timestamp { .. } | S::Date),
        AttrType::Binary => sql == S::Binary,
        AttrType::Complex => false,
    }
}

/// An RFC 3339 date and time (RFC 7643 §2.3.5's `xsd:dateTime` with a zone).
pub(super) fn parse_datetime(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The instant in UTC as RFC 3339 with microseconds: what PostgreSQL's casts read.
pub(super) fn rfc3339_utc(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The instant in UTC as MariaDB's DATETIME text (`2024-05-01 08:00:00.000000`), or its date.
pub(super) fn mysql_datetime(t: time::OffsetDateTime, date_only: bool) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let date = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
    if date_only {
        return date;
    }
    format!(
        "{date} {:02}:{:02}:{:02}.{:06}",
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// A dateTime as read (`2024-05-01T08:00:00.000000Z`) without a zero fraction, and without the
/// trailing zeros of another: `2024-05-01T08:00:00Z`, `2024-05-01T08:00:00.25Z`.
pub(super) fn canonical_datetime(s: &str) -> String {
    match s.strip_suffix('Z').and_then(|b| b.split_once('.')) {
        Some((whole, fraction)) if fraction.chars().all(|c| c.is_ascii_digit()) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{fraction}Z")
            }
        }
        _ => s.to_owned(),
    }
}

pub(super) fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::String(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

pub(super) fn to_map(attributes: &[AttributeChange]) -> IndexMap<String, Vec<Scalar>> {
    attributes
        .iter()
        .map(|a| (a.name.clone(), a.values.clone()))
        .collect()
}

/// NUL cannot be stored in PostgreSQL text and is cut off by some MySQL clients: refused for
/// every database alike, before anything is written.
pub(super) fn check_values(attributes: &[AttributeChange]) -> Result<(), ConnectorError> {
    for a in attributes {
        for v in &a.values {
            if let Scalar::String(s) = v
                && s.contains('\0')
            {
                return Err(ConnectorError::Rejected {
                    detail: format!(
                        "{}: a NUL character cannot be stored in a SQL column",
                        a.name
                    ),
                });
            }
        }
    }
    Ok(())
}
