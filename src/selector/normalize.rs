//! Normalisations: reading a value the way libvirt reads it, so that two spellings of one
//! value compare equal (`0x1f` and `31`, `52:54:00:AB:CD:EF` and `52-54-00-ab-cd-ef`,
//! `4 GiB` written as `<memory unit='GiB'>4</memory>` and `4194304` KiB).
//!
//! Used by the selector functions `int()`, `lower-case()`, `mac()`, `uuid()` and
//! `quantity()`, and by the `as:` of value tests and `unique` keys.

use std::fmt;

use roxmltree::Node;

use super::Item;

/// How a value is read before it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Normalize {
    /// The text as written.
    Text,
    /// Case-insensitive (Unicode lower case).
    Case,
    /// An integer in C's base-0 notation, as libvirt parses addresses: `31`, `0x1f`,
    /// `037` (octal).
    Number,
    /// A MAC address: six hex bytes separated by `:` or `-`, any case.
    Mac,
    /// A UUID: 32 hex digits, dashes anywhere, any case.
    Uuid,
    /// A libvirt scaled integer in bytes: the value times its `unit` attribute (or the
    /// element's default unit).
    Quantity,
    /// A file path: repeated `/`, `.` steps and a trailing `/` do not matter (`..` is
    /// kept: it may cross a symlink).
    Path,
}

impl Normalize {
    pub const NAMES: &'static [&'static str] =
        &["text", "case", "number", "mac", "uuid", "quantity", "path"];

    pub fn from_name(name: &str) -> Option<Normalize> {
        Some(match name {
            "text" => Normalize::Text,
            "case" => Normalize::Case,
            "number" => Normalize::Number,
            "mac" => Normalize::Mac,
            "uuid" => Normalize::Uuid,
            "quantity" => Normalize::Quantity,
            "path" => Normalize::Path,
            _ => return None,
        })
    }

    /// Whether values compare as numbers (and so support `greater-than` and the like).
    pub fn is_numeric(self) -> bool {
        matches!(self, Normalize::Number | Normalize::Quantity)
    }

    /// The normalised key of a selected item; `None` when it does not read as this kind.
    pub fn item(self, item: &Item<'_, '_>) -> Option<Key> {
        match self {
            Normalize::Quantity => item_quantity(item, None).map(Key::Number),
            _ => self.text(&item.string_value()),
        }
    }

    /// The normalised key of a text (a `quantity` text is read as `4 GiB`, `4GiB` or
    /// `4096`, in bytes).
    pub fn text(self, text: &str) -> Option<Key> {
        match self {
            Normalize::Text => Some(Key::Text(text.to_owned())),
            Normalize::Case => Some(Key::Text(text.to_lowercase())),
            Normalize::Number => c_integer_f64(text).map(Key::Number),
            Normalize::Mac => mac(text).map(Key::Text),
            Normalize::Uuid => uuid(text).map(Key::Text),
            Normalize::Quantity => {
                let t = text.trim();
                let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
                let unit = t[split..].trim();
                scaled(&t[..split], if unit.is_empty() { "b" } else { unit }).map(Key::Number)
            }
            Normalize::Path => Some(Key::Text(path(text))),
        }
    }
}

impl fmt::Display for Normalize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = [
            Normalize::Text,
            Normalize::Case,
            Normalize::Number,
            Normalize::Mac,
            Normalize::Uuid,
            Normalize::Quantity,
            Normalize::Path,
        ]
        .iter()
        .position(|n| n == self)
        .unwrap_or(0);
        f.write_str(Normalize::NAMES[i])
    }
}

/// `path` normalisation: `/var//lib/./x/` reads as `/var/lib/x`.
fn path(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let absolute = text.starts_with('/');
    let steps: Vec<&str> = text
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    match (absolute, steps.is_empty()) {
        (true, _) => format!("/{}", steps.join("/")),
        (false, true) => ".".to_string(),
        (false, false) => steps.join("/"),
    }
}

/// A normalised value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Key {
    Text(String),
    Number(f64),
}

impl Key {
    /// For hashing and equality of composite keys: numbers print without a fraction.
    pub fn canonical(&self) -> String {
        match self {
            Key::Text(t) => t.clone(),
            Key::Number(n) => super::eval::num_to_string(*n),
        }
    }

    /// Appends [`Key::canonical`] to `out` (without formatting machinery for the
    /// integers that most keys are).
    pub fn write_canonical(&self, out: &mut String) {
        match self {
            Key::Text(t) => out.push_str(t),
            Key::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => push_integer(out, *n as i64),
            Key::Number(n) => out.push_str(&super::eval::num_to_string(*n)),
        }
    }

    pub fn number(&self) -> Option<f64> {
        match self {
            Key::Number(n) => Some(*n),
            Key::Text(_) => None,
        }
    }
}

/// Appends the decimal digits of `n` (as `n.to_string()` would).
pub(crate) fn push_integer(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// An integer as C's `strtoll(s, .., 0)` reads a whole string: optional sign, then `0x`
/// hex, `0` octal or decimal digits; surrounding XML whitespace allowed.
pub fn c_integer(s: &str) -> Option<i128> {
    Some(match c_integer_parts(s)? {
        CInteger::Small {
            negative,
            magnitude,
        } => {
            let n = i128::from(magnitude);
            if negative { -n } else { n }
        }
        CInteger::Large(n) => n,
    })
}

/// [`c_integer`] as a number, the way `Normalize::Number` and `int()` compare it.
#[inline]
pub fn c_integer_f64(s: &str) -> Option<f64> {
    match short_c_integer(s.as_bytes()) {
        Some(n) => Some(n as f64),
        None => c_integer_f64_any(s),
    }
}

/// The forms most values are written in, read without the general reading's checks:
/// `0`, decimal digits not starting with `0` (up to 15 of them), and `0x` with one to
/// eight hex digits. `None` for anything else, which [`c_integer_f64_any`] then reads
/// (exactly as it would have read these).
#[inline]
pub(crate) fn short_c_integer(b: &[u8]) -> Option<u64> {
    match b {
        [b'0'] => Some(0),
        [b'0', b'x', hex @ ..] if !hex.is_empty() && hex.len() <= 8 => {
            let mut n: u64 = 0;
            for &c in hex {
                n = n * 16 + u64::from(digit_value(c).filter(|&d| d < 16)?);
            }
            Some(n)
        }
        [b'1'..=b'9', ..] if b.len() <= 15 => {
            let mut n: u64 = 0;
            for &c in b {
                if !c.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + u64::from(c - b'0');
            }
            Some(n)
        }
        _ => None,
    }
}

/// [`c_integer_f64`] of any text.
fn c_integer_f64_any(s: &str) -> Option<f64> {
    Some(match c_integer_parts(s)? {
        // Both round to the nearest double, as `n as f64` of the `i128` does; `0.0 - x`
        // keeps `-0` at `0`.
        CInteger::Small {
            negative: true,
            magnitude,
        } => 0.0 - magnitude as f64,
        CInteger::Small { magnitude, .. } => magnitude as f64,
        CInteger::Large(n) => n as f64,
    })
}

/// A [`c_integer`]: the usual one, read without 128-bit arithmetic, or a large one.
enum CInteger {
    Small { negative: bool, magnitude: u64 },
    Large(i128),
}

/// The value of a digit in any base up to 36 (`0`-`9`, then `a`-`z` in either case).
#[inline]
fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'z' => Some(c - b'a' + 10),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn c_integer_parts(s: &str) -> Option<CInteger> {
    // XML whitespace is ASCII: trim only when an end byte is one.
    let t = match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if is_xml_space(char::from(a)) || is_xml_space(char::from(z)) => {
            s.trim_matches(is_xml_space)
        }
        _ => s,
    };
    let b = t.as_bytes();
    let (negative, sign) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let digits = &b[sign..];
    let (radix, body): (u8, &[u8]) = match digits {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0', rest @ ..] if !rest.is_empty() => (8, rest),
        _ => (10, digits),
    };
    if body.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &c in body {
        let digit = digit_value(c)?;
        if digit >= radix {
            return None;
        }
        match magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => magnitude = m,
            // `body` is ASCII up to here, so it is a whole `str`.
            None => {
                let text = &t[t.len() - body.len()..];
                return c_integer_large(text, u32::from(radix), negative).map(CInteger::Large);
            }
        }
    }
    Some(CInteger::Small {
        negative,
        magnitude,
    })
}

/// The digits of a [`c_integer`] beyond 64 bits.
fn c_integer_large(body: &str, radix: u32, negative: bool) -> Option<i128> {
    if !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i128::from_str_radix(body, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// A MAC address in lower case with `:` separators; `None` unless six hex bytes.
pub fn mac(s: &str) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let t = s.trim_matches(is_xml_space);
    let mut out = String::with_capacity(17);
    let mut parts = 0;
    for part in t.split([':', '-']) {
        parts += 1;
        if parts > 6 || part.is_empty() || part.len() > 2 {
            return None;
        }
        let byte = part.bytes().try_fold(0u8, |acc, b| {
            let digit = char::from(b).to_digit(16)?;
            Some(acc * 16 + digit as u8)
        })?;
        if parts > 1 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    (parts == 6).then_some(out)
}

/// A UUID in lower case, `8-4-4-4-12`; `None` unless 32 hex digits (dashes anywhere).
pub fn uuid(s: &str) -> Option<String> {
    let t = s.trim_matches(is_xml_space);
    let mut out = String::with_capacity(36);
    let mut digits = 0;
    for &c in t.as_bytes() {
        if c == b'-' {
            continue;
        }
        if !c.is_ascii_hexdigit() || digits == 32 {
            return None;
        }
        if matches!(digits, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(char::from(c.to_ascii_lowercase()));
        digits += 1;
    }
    (digits == 32).then_some(out)
}

/// The multiplier of a libvirt unit (formatdomain, "memory allocation"): `b`/`bytes` 1;
/// `KB` 10³, `k`/`KiB` 2¹⁰; `MB` 10⁶, `M`/`MiB` 2²⁰; ... up to `EB`, `E`/`EiB`. Case
/// does not matter, as in libvirt.
pub fn unit_multiplier(unit: &str) -> Option<f64> {
    // Compared without case and without allocating (this runs for every quantity read).
    let u = unit.trim().as_bytes();
    let is = |text: &[u8]| u.eq_ignore_ascii_case(text);
    if is(b"b") || is(b"byte") || is(b"bytes") {
        return Some(1.0);
    }
    let (&first, rest) = u.split_first()?;
    let power = match first.to_ascii_lowercase() {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        b'e' => 6,
        _ => return None,
    };
    let base: f64 = if rest.is_empty() || rest.eq_ignore_ascii_case(b"ib") {
        1024.0
    } else if rest.eq_ignore_ascii_case(b"b") {
        1000.0
    } else {
        return None;
    };
    Some(base.powi(power))
}

/// `value` (unsigned decimal, as libvirt reads scaled integers) times `unit`, in bytes.
fn scaled(value: &str, unit: &str) -> Option<f64> {
    let v = value.trim_matches(is_xml_space);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Up to 15 digits are exact as an integer and as a double: no float parsing.
    let n: f64 = if v.len() <= 15 {
        v.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64
    } else {
        v.parse().ok()?
    };
    Some(n * unit_multiplier(unit)?)
}

/// The unit libvirt assumes when a scaled integer has no `unit` attribute: KiB for the
/// memory sizes of a domain (`memory`, `currentMemory`, `maxMemory`, memtune limits,
/// memory device sizes, NUMA cell `memory`, hugepage `size`), bytes otherwise
/// (`shmem/size`, filesystem space limits).
pub fn default_unit(element: Node<'_, '_>, attribute: Option<&str>) -> &'static str {
    let name = attribute.unwrap_or_else(|| element.tag_name().name());
    let parent = if attribute.is_some() {
        element.tag_name().name()
    } else {
        element.parent_element().map_or("", |p| p.tag_name().name())
    };
    match (parent, name) {
        ("shmem", "size") => "b",
        (_, "space_hard_limit" | "space_soft_limit") => "b",
        (
            _,
            "memory" | "currentMemory" | "maxMemory" | "hard_limit" | "soft_limit"
            | "swap_hard_limit" | "min_guarantee" | "size" | "requested" | "current" | "block",
        ) => "KiB",
        _ => "b",
    }
}

/// A selected item as a quantity in bytes: an element's text (or an attribute's value)
/// scaled by the `unit` attribute of the element, else `default` or the element's
/// default unit.
pub fn item_quantity(item: &Item<'_, '_>, default: Option<&str>) -> Option<f64> {
    let (element, attribute) = match item {
        Item::Node(n) if n.is_element() => (*n, None),
        Item::Attribute { element, attribute } => (*element, Some(attribute.name())),
        Item::Node(_) => return None,
    };
    let unit = match element.attribute("unit") {
        Some(u) => u,
        None => default.unwrap_or_else(|| default_unit(element, attribute)),
    };
    scaled(&item.string_value(), unit)
}

/// A libvirt bitmap (`cpus='0-3,^2,8'`, `nodeset='1,4'`), as libvirt's `virBitmapParse`
/// reads it: comma-separated entries, each a number, a range `N-M` (`N` at most `M`) or an
/// exclusion `^N`, applied in order, with spaces around them ignored. The members as
/// sorted, disjoint inclusive ranges; `None` when the text is not a bitmap.
pub fn bitmap(text: &str) -> Option<Vec<(u32, u32)>> {
    let number = |s: &str| -> Option<u32> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let mut set: Vec<(u32, u32)> = Vec::new();
    for entry in text.split(',') {
        let entry = entry.trim();
        if let Some(excluded) = entry.strip_prefix('^') {
            let n = number(excluded)?;
            set = set
                .into_iter()
                .flat_map(|(a, b)| {
                    let below = (a < n).then(|| (a, b.min(n - 1)));
                    let above = (b > n).then(|| (a.max(n + 1), b));
                    match (a <= n && n <= b, below, above) {
                        (false, _, _) => [Some((a, b)), None],
                        (true, below, above) => [below, above],
                    }
                })
                .flatten()
                .collect();
            continue;
        }
        let (from, to) = match entry.split_once('-') {
            Some((from, to)) => (number(from)?, number(to)?),
            None => {
                let n = number(entry)?;
                (n, n)
            }
        };
        if from > to {
            return None;
        }
        set.push((from, to));
        set.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(set.len());
        for (a, b) in set {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        set = merged;
    }
    Some(set)
}

/// The smallest member two bitmaps ([`bitmap`]) share, if any.
pub fn first_shared(a: &[(u32, u32)], b: &[(u32, u32)]) -> Option<u32> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (from, to) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if from <= to {
            return Some(from);
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys_are_written_as_they_print() {
        for n in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            31.0,
            4096.0,
            -123_456.0,
            999_999_999_999_999.0,
            1e15,
            1e21,
            0.5,
            -2.25,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut out = String::from("x");
            Key::Number(n).write_canonical(&mut out);
            assert_eq!(out, format!("x{}", Key::Number(n).canonical()), "{n}");
        }
        let mut out = String::new();
        Key::Text("vda".into()).write_canonical(&mut out);
        assert_eq!(out, "vda");
        for n in [0, 7, -7, 10, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_integer(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn c_integers_in_any_base() {
        assert_eq!(c_integer("31"), Some(31));
        assert_eq!(c_integer("0x1f"), Some(31));
        assert_eq!(c_integer("0X1F"), Some(31));
        assert_eq!(c_integer("037"), Some(31));
        assert_eq!(c_integer(" 0x0000 "), Some(0));
        assert_eq!(c_integer("0"), Some(0));
        assert_eq!(c_integer("-0x10"), Some(-16));
        for bad in ["", "0x", "08", "1e3", "inf", "0x1g", "1.0", "abc", "--1"] {
            assert_eq!(c_integer(bad), None, "{bad}");
            assert_eq!(c_integer_f64(bad), None, "{bad}");
        }
        // Beyond 64 bits, up to 128.
        assert_eq!(c_integer("0xffffffffffffffff"), Some(u64::MAX.into()));
        assert_eq!(c_integer("0x10000000000000000"), Some(1 << 64));
        assert_eq!(c_integer("-18446744073709551616"), Some(-(1 << 64)));
        assert_eq!(c_integer("0x1000000000000000000000000000000g"), None);
        assert_eq!(c_integer(&format!("0x1{}", "0".repeat(32))), None);
        for text in [
            "0",
            "-0",
            "+0x0",
            "31",
            "-31",
            "0x1f",
            "037",
            "9007199254740993",
            "-9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "0x7fffffffffffffffffffffffffffffff",
        ] {
            let n = c_integer(text).unwrap();
            let f = c_integer_f64(text).unwrap();
            assert_eq!(f.to_bits(), (n as f64).to_bits(), "{text}");
        }
    }

    /// `strtoll`-like reading written the plain way, to check the fast one against.
    fn reference_c_integer(s: &str) -> Option<i128> {
        let t = s.trim_matches(is_xml_space);
        let (negative, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (radix, body) = if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            (16, hex)
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
        if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let n = i128::from_str_radix(body, radix).ok()?;
        Some(if negative { -n } else { n })
    }

    #[test]
    fn c_integers_agree_with_the_plain_reading() {
        let pieces = [
            "",
            "0",
            "1",
            "7",
            "8",
            "9",
            "a",
            "f",
            "F",
            "g",
            "z",
            "Z",
            "x",
            "X",
            "-",
            "+",
            " ",
            "\n",
            "\t",
            "é",
            "٣",
            "0x",
            "0X",
            "00",
            "ffffffffffffffff",
            "99999999999999999999",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(c_integer(&text), reference_c_integer(&text), "{text:?}");
                    assert_eq!(
                        c_integer_f64(&text).map(f64::to_bits),
                        reference_c_integer(&text).map(|n| (n as f64).to_bits()),
                        "{text:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, pieces.len().pow(3));
    }

    #[test]
    fn short_forms_read_as_the_general_reading_does() {
        // Every text of up to five of these characters, and longer ones around the
        // short forms' limits: the shortcut and the general reading agree on each.
        let alphabet = [
            "0", "1", "7", "8", "9", "a", "f", "F", "g", "x", "X", "-", "+", " ", "\n", "é",
        ];
        let mut texts: Vec<String> = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..5 {
            level = level
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(level.iter().cloned());
        }
        for n in 6..=20 {
            for digit in ["0", "1", "9", "f", "F"] {
                texts.push(format!("0x{}", digit.repeat(n - 2)));
                texts.push(format!("0x1{}", digit.repeat(n - 3)));
                texts.push(format!("1{}", digit.repeat(n - 1)));
                texts.push(format!("9{}", digit.repeat(n - 1)));
                texts.push(format!("0{}", digit.repeat(n - 1)));
            }
        }
        let mut short = 0;
        for text in &texts {
            if let Some(n) = short_c_integer(text.as_bytes()) {
                short += 1;
                assert_eq!(Some(i128::from(n)), c_integer(text), "{text:?}");
            }
            assert_eq!(
                c_integer_f64(text).map(f64::to_bits),
                c_integer_f64_any(text).map(f64::to_bits),
                "{text:?}"
            );
            assert_eq!(
                c_integer_f64(text).map(f64::to_bits),
                reference_c_integer(text).map(|n| (n as f64).to_bits()),
                "{text:?}"
            );
        }
        // The shortcut does read the usual forms.
        assert!(short > 3_000, "{short}");
        for (text, n) in [("0", 0), ("0x00", 0), ("0x0000", 0), ("1", 1), ("0x1f", 31)] {
            assert_eq!(short_c_integer(text.as_bytes()), Some(n), "{text}");
        }
        for text in [
            "0x123456789",
            "1234567890123456",
            "01",
            "-1",
            " 1",
            "0X1f",
            "0x",
        ] {
            assert_eq!(short_c_integer(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn macs_and_uuids() {
        assert_eq!(
            mac("52:54:00:AB:CD:EF").as_deref(),
            Some("52:54:00:ab:cd:ef")
        );
        assert_eq!(
            mac("52-54-0-ab-cd-ef").as_deref(),
            Some("52:54:00:ab:cd:ef")
        );
        for bad in [
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:ef:01",
            "52:54:00:ab:cd:eg",
            "525:4:00:ab:cd:ef",
            "",
            ":::::",
            "52:54:00:ab:cd:",
            "52:54:00:ab:cd:é",
            "+1:54:00:ab:cd:ef",
        ] {
            assert_eq!(mac(bad), None, "{bad}");
        }
        assert_eq!(
            uuid("C7A5FDBD-EDAF-9455-926A-D65C16DB1809").as_deref(),
            Some("c7a5fdbd-edaf-9455-926a-d65c16db1809")
        );
        assert_eq!(
            uuid("c7a5fdbdedaf9455926ad65c16db1809").as_deref(),
            Some("c7a5fdbd-edaf-9455-926a-d65c16db1809")
        );
        assert_eq!(mac(" 1:2:3:a:b:C\n").as_deref(), Some("01:02:03:0a:0b:0c"));
        assert_eq!(
            uuid("c7-a5fdbdedaf9455926ad65c16db18-09").as_deref(),
            Some("c7a5fdbd-edaf-9455-926a-d65c16db1809")
        );
        assert_eq!(uuid("c7a5fdbd-edaf-9455-926a-d65c16db180"), None);
        assert_eq!(uuid("x7a5fdbd-edaf-9455-926a-d65c16db1809"), None);
        assert_eq!(
            uuid("\n 00112233-4455-6677-8899-AABBCCDDEEFF\t").as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        for bad in [
            "",
            "----",
            "c7a5fdbd-edaf-9455-926a-d65c16db18090",
            "c7a5fdbd-edaf-9455-926a-d65c16db18é9",
            "c7a5fdbd edaf-9455-926a-d65c16db1809",
        ] {
            assert_eq!(uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn units_as_formatdomain_documents() {
        let cases: &[(&str, f64)] = &[
            ("b", 1.0),
            ("bytes", 1.0),
            ("KB", 1e3),
            ("k", 1024.0),
            ("KiB", 1024.0),
            ("MB", 1e6),
            ("M", 1048576.0),
            ("MiB", 1048576.0),
            ("GB", 1e9),
            ("G", 1073741824.0),
            ("GiB", 1073741824.0),
            ("TB", 1e12),
            ("T", 1099511627776.0),
            ("TiB", 1099511627776.0),
            ("PB", 1e15),
            ("P", 1125899906842624.0),
            ("PiB", 1125899906842624.0),
            ("EB", 1e18),
            ("E", 1152921504606846976.0),
            ("EiB", 1152921504606846976.0),
            ("kib", 1024.0),
        ];
        for (unit, m) in cases {
            assert_eq!(unit_multiplier(unit), Some(*m), "{unit}");
        }
        for (unit, m) in [
            ("BYTES", 1.0),
            ("Byte", 1.0),
            ("gIb", 1073741824.0),
            (" MiB ", 1048576.0),
        ] {
            assert_eq!(unit_multiplier(unit), Some(m), "{unit}");
        }
        for bad in ["", "x", "KiBB", "Ki", "kb2", "bb", "ib", "k b"] {
            assert_eq!(unit_multiplier(bad), None, "{bad}");
        }
    }

    /// The digits of a scaled integer read as the float parser reads them, at every length
    /// (the short ones are read without it).
    #[test]
    fn scaled_reads_digits_as_the_float_parser() {
        let digits = "9876543210123456789012345";
        for n in 1..=digits.len() {
            for text in [&digits[..n], &digits[digits.len() - n..]] {
                let expect: f64 = text.parse().unwrap();
                assert_eq!(scaled(text, "b"), Some(expect), "{text}");
                assert_eq!(scaled(text, "KiB"), Some(expect * 1024.0), "{text}");
                assert_eq!(scaled(&format!(" {text}\n"), "b"), Some(expect), "{text}");
            }
        }
        assert_eq!(scaled("000000000000000000000042", "b"), Some(42.0));
        for bad in ["", " ", "-1", "1.5", "0x10", "12a"] {
            assert_eq!(scaled(bad, "b"), None, "{bad}");
        }
    }

    #[test]
    fn quantities_of_elements_and_attributes() {
        let xml = "<domain><memory unit='GiB'>4</memory><currentMemory>4194304</currentMemory>\
            <maxMemory unit='KB'>1000</maxMemory><devices><shmem><size>1024</size></shmem></devices>\
            <cpu><numa><cell memory='2' unit='MiB'/><cell memory='2'/></numa></cpu><name>x</name></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let q = |src: &str| -> Vec<Option<f64>> {
            super::super::Selector::parse(src, &super::super::Namespaces::builtin())
                .unwrap()
                .select(root)
                .iter()
                .map(|i| item_quantity(i, None))
                .collect()
        };
        assert_eq!(q("memory"), [Some(4294967296.0)]);
        assert_eq!(q("currentMemory"), [Some(4294967296.0)]);
        assert_eq!(q("maxMemory"), [Some(1e6)]);
        assert_eq!(q("devices/shmem/size"), [Some(1024.0)]);
        assert_eq!(q("cpu/numa/cell/@memory"), [Some(2097152.0), Some(2048.0)]);
        assert_eq!(q("name"), [None]);
        assert_eq!(
            Normalize::Quantity.text("4 GiB"),
            Some(Key::Number(4294967296.0))
        );
        assert_eq!(Normalize::Quantity.text("4096"), Some(Key::Number(4096.0)));
        assert_eq!(Normalize::Number.text("0x1f"), Some(Key::Number(31.0)));
        assert_eq!(Normalize::Case.text("VDA"), Some(Key::Text("vda".into())));
        assert_eq!(Normalize::from_name("mac"), Some(Normalize::Mac));
        assert_eq!(Normalize::Mac.to_string(), "mac");
        assert_eq!(Key::Number(31.0).canonical(), "31");
    }

    #[test]
    fn bitmaps_read_as_libvirt_reads_them() {
        // A text and the members read from it.
        type Case<'a> = (&'a str, Option<&'a [(u32, u32)]>);
        let cases: &[Case<'_>] = &[
            ("0", Some(&[(0, 0)])),
            ("0-3", Some(&[(0, 3)])),
            ("1,4", Some(&[(1, 1), (4, 4)])),
            ("0,2-3", Some(&[(0, 0), (2, 3)])),
            ("0-3,^2", Some(&[(0, 1), (3, 3)])),
            ("0-3,^0,^3", Some(&[(1, 2)])),
            ("^2,0-3", Some(&[(0, 3)])),
            ("0-1,2-3,5", Some(&[(0, 3), (5, 5)])),
            (" 0 - 2 , 4 ", Some(&[(0, 2), (4, 4)])),
            ("7,1,3-4", Some(&[(1, 1), (3, 4), (7, 7)])),
            ("0-2,^0-1", None),
            ("3-1", None),
            ("", None),
            ("a", None),
            ("1,,2", None),
            ("-1", None),
            ("0x1", None),
            ("4294967296", None),
        ];
        for (text, expected) in cases {
            assert_eq!(bitmap(text).as_deref(), *expected, "{text:?}");
        }
    }

    #[test]
    fn shared_members_of_bitmaps() {
        let set = |t: &str| bitmap(t).unwrap();
        assert_eq!(first_shared(&set("0-3"), &set("3-5")), Some(3));
        assert_eq!(first_shared(&set("0-1"), &set("2-3")), None);
        assert_eq!(first_shared(&set("0,2,4"), &set("1,3,4")), Some(4));
        assert_eq!(first_shared(&set("0-3,^2"), &set("2")), None);
        assert_eq!(first_shared(&set("5"), &set("0-9")), Some(5));
        assert_eq!(first_shared(&set("0-1,8-9"), &set("2-7,9")), Some(9));
    }

    /// Generated bitmaps over 0..16, read and intersected, against sets of members built
    /// by applying the entries one by one; and no text of bitmap characters panics.
    #[test]
    fn bitmaps_agree_with_plain_sets() {
        let entries = [
            "0", "3", "7", "15", "0-3", "2-9", "5-5", "9-12", "^0", "^3", "^8", "^15", "4-2", "x",
            " 6 ",
        ];
        let members = |text: &str| -> Option<Vec<u32>> {
            let mut on = [false; 16];
            for e in text.split(',') {
                let e = e.trim();
                if let Some(n) = e.strip_prefix('^') {
                    on[n.parse::<usize>().ok()?] = false;
                } else if let Some((a, b)) = e.split_once('-') {
                    let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                    if a > b {
                        return None;
                    }
                    on[a..=b].iter_mut().for_each(|m| *m = true);
                } else {
                    on[e.parse::<usize>().ok()?] = true;
                }
            }
            Some((0..16).filter(|&i| on[i as usize]).collect())
        };
        let expand =
            |set: &[(u32, u32)]| -> Vec<u32> { set.iter().flat_map(|&(a, b)| a..=b).collect() };
        let mut pick = crate::test_support::picker(7);
        let mut texts = Vec::new();
        for _ in 0..3000 {
            let n = 1 + pick(&["0", "1", "2", "3"]).parse::<usize>().unwrap();
            let text: Vec<&str> = (0..n).map(|_| pick(&entries)).collect();
            texts.push(text.join(","));
        }
        for text in &texts {
            let read = bitmap(text);
            assert_eq!(read.as_deref().map(expand), members(text), "{text:?}");
            if let Some(set) = &read {
                assert!(
                    set.windows(2).all(|w| w[0].1 + 1 < w[1].0),
                    "not merged: {text:?} {set:?}"
                );
            }
        }
        for pair in texts.windows(2) {
            let (Some(a), Some(b)) = (bitmap(&pair[0]), bitmap(&pair[1])) else {
                continue;
            };
            let shared = expand(&a).into_iter().find(|m| expand(&b).contains(m));
            assert_eq!(first_shared(&a, &b), shared, "{pair:?}");
        }
        for text in [
            "^",
            "-",
            "1-",
            "-1",
            ",",
            "^-1",
            "1--2",
            "^1-2",
            "99999999999999999999",
            "0-4294967295,^0",
        ] {
            let _ = bitmap(text);
        }
    }
}
