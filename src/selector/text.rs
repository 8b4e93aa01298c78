//! Equality of the short texts domain XML is made of (element and attribute names, values
//! such as `pci`, `0x00`, `virtio`), inline: comparing them with `==` calls the C
//! library's `memcmp`, which for texts this short costs more than the comparison itself
//! (about a tenth of a lint's time went there).

/// `a == b`, without a library call for texts of up to 16 bytes.
#[inline(always)]
pub fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same`] for bytes.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word4 =
        |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    let word8 =
        |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

/// `text.starts_with(prefix)`, as [`same`].
#[inline(always)]
pub fn starts_with(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && same(&text[..prefix.len()], prefix)
}

/// A quick hash of a short text, eight bytes at a time (FxHash's mixing): the key of the
/// tables that remember answers about attribute values across documents.
pub fn hash(text: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = text.len() as u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// `a == b` for optional texts (namespace URIs, mostly absent), as [`same`].
#[inline(always)]
pub fn same_opt(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same(a, b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{same, same_opt, starts_with};

    /// `same` is `==` for every length, whichever byte differs.
    #[test]
    fn same_is_equality() {
        let base: String = ('a'..='z').chain('A'..='Z').collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(same(a, a), "{a}");
            for at in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[at] = b'_';
                let b = String::from_utf8(b).unwrap();
                assert!(!same(a, &b), "{a} {b}");
            }
            if n > 0 {
                assert!(!same(a, &base[..n - 1]), "{a}");
            }
        }
    }

    #[test]
    fn starts_with_is_the_library_s() {
        for (text, prefix) in [
            ("ich9-uhci1", "ich9-uhci"),
            ("ich9-ehci1", "ich9-uhci"),
            ("ich9", "ich9-uhci"),
            ("", ""),
            ("x", ""),
            ("é", "\u{c3}"),
            ("éa", "é"),
        ] {
            assert_eq!(
                starts_with(text, prefix),
                text.starts_with(prefix),
                "{text} {prefix}"
            );
        }
    }

    #[test]
    fn same_opt_is_equality() {
        assert!(same_opt(None, None));
        assert!(same_opt(Some("urn:x"), Some("urn:x")));
        assert!(!same_opt(Some("urn:x"), None));
        assert!(!same_opt(None, Some("")));
        assert!(!same_opt(Some("urn:x"), Some("urn:y")));
    }
}
