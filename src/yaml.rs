//! What reading rule files and the configuration file share: YAML scalars kept as the
//! text written, and serde-saphyr's errors split into a position and a message.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::document::Position;

/// A YAML scalar, as written. A plain `10.10` is the text `10.10` (read as a number it
/// would be 10.1, another libvirt release), `0x1f` stays `0x1f`, and `8191`, `on` and
/// `true` are text like any other; quoting changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
        }
        // Asking for a string gives a plain scalar's own text; a number or boolean would
        // come back converted.
        d.deserialize_string(V)
    }
}

/// The error for a plain number with a fraction where only a typed value can be read
/// (a scalar that may also be a list or a mapping): its digits may already be lost.
pub fn fraction_needs_quotes<E: de::Error>(v: f64) -> E {
    E::custom(format!(
        "`{v}` was read as a number, which may have lost digits (`10.10` reads as 10.1): put the value in quotes"
    ))
}

/// serde-saphyr's error as its position and its message, without the `error: ` and
/// `line L column C: ` it starts with.
pub fn error_parts(err: &serde_saphyr::Error) -> (Option<Position>, String) {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => first.to_string(),
    };
    let position = err.location().map(|loc| Position {
        line: loc.line() as usize,
        column: loc.column() as usize,
    });
    (position, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct One {
        v: Scalar,
    }

    fn read(yaml: &str) -> Result<String, String> {
        serde_saphyr::from_str::<One>(yaml)
            .map(|o| o.v.0)
            .map_err(|e| error_parts(&e).1)
    }

    #[test]
    fn scalars_keep_their_text() {
        for (yaml, text) in [
            ("v: 10.10", "10.10"),
            ("v: 9.0", "9.0"),
            ("v: '9.0'", "9.0"),
            ("v: 0x1f", "0x1f"),
            ("v: 010", "010"),
            ("v: 8191", "8191"),
            ("v: True", "True"),
            ("v: on", "on"),
            ("v: \"a b\"", "a b"),
            ("v: 1e3", "1e3"),
        ] {
            assert_eq!(read(yaml).as_deref(), Ok(text), "{yaml}");
        }
    }

    #[test]
    fn a_collection_is_not_a_scalar() {
        assert_eq!(read("v: [1, 2]"), Err("expected string scalar".to_string()));
        assert_eq!(read("v: {a: 1}"), Err("expected string scalar".to_string()));
    }

    #[test]
    fn errors_lose_their_prefixes() {
        let err = serde_saphyr::from_str::<One>("v: [1,\n").unwrap_err();
        let (position, message) = error_parts(&err);
        assert!(position.is_some());
        assert!(
            !message.starts_with("error: ") && !message.starts_with("line "),
            "{message}"
        );
    }
}
