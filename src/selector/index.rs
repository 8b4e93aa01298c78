//! A per-document element index: the elements of one document grouped by local name, in
//! document order, so that a selector such as `devices//address[@type='pci']` or
//! `devices/*/address` can start from the few `<address>` elements of the document and
//! check their ancestors ("bottom-up"), instead of walking every node below `<devices>`.
//!
//! The engine builds the index once per linted document ([`Scope::start`], one pass over
//! the elements) and keeps it in a thread-local while the document's rules run; the
//! evaluator consults it only for nodes of that very document. Without an index (fix
//! planning, tests, another document) selectors are walked top-down as always, with the
//! same results: the index only changes how a path is walked, never what it selects.
//!
//! Names are grouped by a small hash of the local name: two names may share a group
//! (the evaluator tests every candidate's name anyway), and the buffers are reused from
//! one document to the next, so building an index allocates nothing in the steady state.

use std::cell::RefCell;

use roxmltree::Node;

/// Number of name groups (a power of two).
pub(crate) const GROUPS: usize = 256;

/// The group of a local name: a multiplicative hash of its length and of its first and
/// last four bytes (all of them when shorter), folded to [`GROUPS`]. Cheap whatever the
/// name's length (it runs for every element of every linted document); names that differ
/// only in the middle share a group, which costs the evaluator a name test, never a wrong
/// answer.
#[inline]
pub(crate) fn group(name: &str) -> usize {
    usize::from(group_u8(name))
}

#[inline]
fn group_u8(name: &str) -> u8 {
    let b = name.as_bytes();
    let n = b.len();
    let x: u64 = if n >= 4 {
        let head = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let tail = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        (u64::from(head) << 32) | u64::from(tail)
    } else if n > 0 {
        u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16)
    } else {
        0
    };
    let h = (x ^ ((n as u64) << 24)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 56) as u8
}

/// Keys of texts longer than [`SHORT`] bytes have this bit set.
const LONG: u64 = 1 << 63;

/// Texts of at most this many bytes have a key that is the text itself.
pub(crate) const SHORT: usize = 7;

/// A text's key (an attribute's value, a name). A text of at most [`SHORT`] bytes is its
/// own key (its bytes, zero-padded: XML text holds no NUL), so equal keys mean equal texts;
/// a longer text's key is a hash of its length and first and last eight bytes with the top
/// bit set, so it equals no short text's key, and equal keys of long texts say the texts
/// may be equal ([`is_long`]: compare them).
#[inline]
pub(crate) fn name_key(text: &str) -> u64 {
    let b = text.as_bytes();
    let n = b.len();
    if n > SHORT {
        let head = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let tail = u64::from_le_bytes([
            b[n - 8],
            b[n - 7],
            b[n - 6],
            b[n - 5],
            b[n - 4],
            b[n - 3],
            b[n - 2],
            b[n - 1],
        ]);
        let h =
            (head ^ tail.rotate_left(29) ^ ((n as u64) << 40)).wrapping_mul(0x517c_c1b7_2722_0a95);
        (h ^ (h >> 31)) | LONG
    } else if n >= 4 {
        let head = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let tail = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        // The bytes the two words share are the same, so `|` leaves them as they are.
        u64::from(head) | (u64::from(tail) << (8 * (n - 4)))
    } else if n > 0 {
        u64::from(b[0])
            | (u64::from(b[n / 2]) << (8 * (n / 2)))
            | (u64::from(b[n - 1]) << (8 * (n - 1)))
    } else {
        0
    }
}

/// Whether two texts whose keys ([`name_key`]) are equal may still differ: when they are
/// long (compare them).
#[inline]
pub(crate) fn is_long(key: u64) -> bool {
    key & LONG != 0
}

/// A `BuildHasher` for small in-process tables keyed by short strings (FNV-1a, 64 bits):
/// much cheaper than the default SipHash, and these tables never hold hostile keys that
/// could be chosen to collide (a collision costs time, never a wrong answer).
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = Fnv;

    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

/// FNV-1a state (see [`FastHash`]).
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

struct Index {
    /// Address of the indexed `roxmltree::Document`, while a [`Scope`] is alive.
    doc: Option<usize>,
    /// `starts[g]..starts[g + 1]`: the range of `nodes` holding group `g`.
    starts: [u32; GROUPS + 1],
    /// Node ids, grouped, each group in document order.
    nodes: Vec<u32>,
    /// Scratch: the elements in document order, each its node id and group (`id << 8 |
    /// group`).
    order: Vec<u64>,
}

thread_local! {
    /// Constant-initialised: reaching it costs no check whether it was set up.
    static INDEX: RefCell<Index> = const {
        RefCell::new(Index {
            doc: None,
            starts: [0; GROUPS + 1],
            nodes: Vec::new(),
            order: Vec::new(),
        })
    };
}

fn doc_key(node: Node<'_, '_>) -> usize {
    std::ptr::from_ref(node.document()) as usize
}

/// Calls `visit` with every element of `root`'s document, in document order, with its
/// local name and its group (`group(name)`).
#[inline]
pub fn each_element<'a, 'i>(
    root: Node<'a, 'i>,
    mut visit: impl FnMut(Node<'a, 'i>, &'a str, usize),
) {
    for node in root.document().root().descendants() {
        if node.is_element() {
            let name = node.tag_name().name();
            visit(node, name, group(name));
        }
    }
}

/// Keeps the index of one document while alive (one per `engine::lint`).
pub struct Scope {
    active: bool,
}

impl Scope {
    /// Indexes the document `root` belongs to (one pass over its elements).
    pub fn start(root: Node<'_, '_>) -> Scope {
        let key = doc_key(root);
        INDEX.with(|cell| {
            let Ok(mut ix) = cell.try_borrow_mut() else {
                return Scope { active: false };
            };
            ix.doc = None;
            // Worked on as locals (kept in registers), put back below for the next document.
            let mut order = std::mem::take(&mut ix.order);
            let mut nodes = std::mem::take(&mut ix.nodes);
            let mut starts = [0u32; GROUPS + 1];
            order.clear();
            // Count each group's elements in `starts[g]`.
            for node in root.document().root().descendants() {
                if node.is_element() {
                    let g = group_u8(node.tag_name().name());
                    order.push((u64::from(node.id().get()) << 8) | u64::from(g));
                    starts[usize::from(g)] += 1;
                }
            }
            // `starts[g]`: where group `g` ends.
            let mut end = 0;
            for s in &mut starts[..GROUPS] {
                end += *s;
                *s = end;
            }
            starts[GROUPS] = end;
            nodes.clear();
            nodes.resize(order.len(), 0);
            // Place the elements from the last, each before those of its group placed
            // already: `starts[g]` moves down to where group `g` starts, which is where
            // group `g - 1` ends.
            for &element in order.iter().rev() {
                let s = &mut starts[(element & 0xff) as usize];
                *s -= 1;
                nodes[*s as usize] = (element >> 8) as u32;
            }
            ix.order = order;
            ix.nodes = nodes;
            ix.starts = starts;
            ix.doc = Some(key);
            Scope { active: true }
        })
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.active {
            INDEX.with(|cell| {
                // A scope started inside another reuses its buffers: the outer document
                // is then no longer indexed, and its selectors are walked top-down.
                if let Ok(mut ix) = cell.try_borrow_mut() {
                    ix.doc = None;
                }
            });
        }
    }
}

/// Calls `f` with the ids of group `g` (see [`group`]), in document order, when `node`'s
/// document is indexed.
pub(crate) fn with_group_id<R>(
    node: Node<'_, '_>,
    g: usize,
    f: impl FnOnce(&[u32]) -> R,
) -> Option<R> {
    let key = doc_key(node);
    INDEX.with(|cell| {
        let ix = cell.try_borrow().ok()?;
        if ix.doc != Some(key) {
            return None;
        }
        Some(f(
            &ix.nodes[ix.starts[g] as usize..ix.starts[g + 1] as usize]
        ))
    })
}

/// The groups of an indexed document (see [`with_groups`]).
pub(crate) struct Groups<'x>(&'x Index);

impl Groups<'_> {
    /// The ids of group `g` (see [`group`]), in document order.
    #[inline]
    pub(crate) fn get(&self, g: u8) -> &[u32] {
        let ix = self.0;
        let g = usize::from(g);
        ix.nodes
            .get(ix.starts[g] as usize..ix.starts[g + 1] as usize)
            .unwrap_or_default()
    }

    /// The ids of every element of the document, by group.
    #[inline]
    pub(crate) fn all(&self) -> &[u32] {
        &self.0.nodes
    }
}

/// Calls `f` with the groups of `node`'s document, when it is indexed (for looking up
/// many groups at once).
pub(crate) fn with_groups<R>(node: Node<'_, '_>, f: impl FnOnce(&Groups<'_>) -> R) -> Option<R> {
    let key = doc_key(node);
    INDEX.with(|cell| {
        let ix = cell.try_borrow().ok()?;
        if ix.doc != Some(key) {
            return None;
        }
        Some(f(&Groups(&ix)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::{Item, Namespaces, Selector};

    /// Two distinct names that share a group, found by search (deterministic).
    fn colliding_names() -> (String, String) {
        let mut seen = std::collections::HashMap::new();
        for i in 0.. {
            let name = format!("n{i}");
            if let Some(other) = seen.insert(group(&name), name.clone()) {
                return (other, name);
            }
        }
        unreachable!()
    }

    fn ids(items: &[Item<'_, '_>]) -> Vec<(u32, usize)> {
        items
            .iter()
            .map(|i| match i {
                Item::Node(n) => (n.id().get(), 0),
                Item::Attribute { element, attribute } => {
                    (element.id().get(), attribute.range().start + 1)
                }
            })
            .collect()
    }

    /// Every selector from every element (and the document root) selects the same items,
    /// in the same order, with and without the index; `exists` agrees.
    #[test]
    fn the_index_changes_no_selection() {
        let (c1, c2) = colliding_names();
        assert_eq!(group(&c1), group(&c2));
        let xml = format!(
            "<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0' type='kvm'>\
             <devices><disk id='1'><address type='pci' bus='1'/><target dev='a'/></disk>\
             <controller type='usb'><address type='pci' bus='2'/></controller>\
             <serial type='pty'><source path='/x'/><source mode='bind'/></serial>\
             <channel type='unix'><source mode='bind'/><address type='virtio-serial'/></channel>\
             <hub><address type='usb' bus='0' port='1'/><hub><address type='usb' bus='0' port='1.2'/></hub></hub>\
             <q:address type='pci'/><{c1} a='1'><{c2} b='2'/></{c1}><{c2} b='3'><{c1} a='4'/></{c2}>\
             <video><model type='vga'/></video><disk id='2'><target dev='b'/></disk>\
             <video><model type='qxl' primary='yes'/></video><{c1} a='5'/>\
             </devices><os><type>hvm</type></os><address type='x'/></domain>"
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let selectors = [
            "devices//address",
            "devices//address[@type='pci']",
            "devices//address[@type='pci']/@bus",
            "devices/*/address",
            "devices/*[local-name()!='controller']/address[@type='pci']",
            "devices//*[local-name()='serial' or local-name()='channel']",
            "devices//*[@type='unix'][local-name()='serial' or local-name()='channel']",
            "//*[local-name()='serial' and @type='pty'][local-name()='channel' or local-name()='serial']",
            "//*[local-name()='channel' and @type='unix'][local-name()='serial']",
            "//*[local-name()='source' or local-name()='target'][../@type='pty']",
            "//qemu:*[local-name()='address']",
            "*[local-name()='os' or local-name()='devices']/*",
            "//address",
            "//address[1]",
            ".//address[last()]",
            "//hub//address",
            "//hub/address/..",
            "/domain/devices/disk",
            "/domain//disk/target/@dev",
            "//qemu:address",
            "devices/qemu:*",
            "address",
            "source",
            "source[2]",
            "source[@mode='bind']",
            "./source/.",
            ".//.",
            "devices//.",
            ".[@type='kvm']/devices/disk",
            "devices/disk[address/@bus = /domain/devices/controller/address/@bus - 1]",
            "../address",
            "..//address",
            "os/type",
            "os/type/text()",
            "//*",
            "//node()",
            &format!("//{c1}"),
            &format!("//{c2}"),
            &format!("devices/{c1}/{c2}"),
            &format!("//*[local-name()='{c1}' or local-name()='{c2}']"),
            &format!("//{c2}[count(../{c1}) = 1]"),
            // Positional child steps (through the index when their elements are few).
            "devices/disk[2]",
            "devices/disk[last()]/target",
            "disk[position() = 1]/@id",
            "devices/video[position() > 1 or ../video/model[@primary='yes']]",
            "devices/video[1]/model",
            "//disk[2]",
            &format!("devices/{c1}[2]"),
            &format!("devices/{c1}[last()]/@a"),
        ];
        let ns = Namespaces::builtin();
        let contexts: Vec<_> = doc.descendants().filter(|n| n.is_element()).collect();
        for src in selectors {
            let sel = Selector::parse(src, &ns).unwrap_or_else(|e| panic!("{src}: {e:?}"));
            let plain: Vec<_> = contexts
                .iter()
                .map(|&ctx| (ids(&sel.select(ctx)), sel.exists(ctx)))
                .collect();
            let scope = Scope::start(doc.root_element());
            let indexed: Vec<_> = contexts
                .iter()
                .map(|&ctx| (ids(&sel.select(ctx)), sel.exists(ctx)))
                .collect();
            drop(scope);
            assert_eq!(plain, indexed, "{src}");
            for (selected, exists) in &plain {
                assert_eq!(!selected.is_empty(), *exists, "{src}");
            }
        }
    }

    /// Texts of at most [`SHORT`] bytes are their own keys: texts that differ in any one
    /// byte, or in length, have different keys. Longer texts' keys are marked long, and
    /// differ from every short text's.
    #[test]
    fn short_keys_are_exact() {
        let mut seen = std::collections::HashMap::new();
        let mut texts = vec![String::new()];
        for n in 1..=SHORT {
            let base: String = "abcdefg"[..n].to_owned();
            texts.push(base.clone());
            for at in 0..n {
                let mut bytes = base.clone().into_bytes();
                bytes[at] = b'z';
                texts.push(String::from_utf8(bytes).unwrap());
            }
        }
        texts.push("\u{e9}t\u{e9}".to_owned());
        for text in &texts {
            let key = name_key(text);
            let mut bytes = [0u8; 8];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            assert_eq!(key, u64::from_le_bytes(bytes), "{text}");
            assert!(!is_long(key), "{text}");
            if let Some(other) = seen.insert(key, text.clone()) {
                assert_eq!(&other, text);
            }
        }
        assert_eq!(seen.len(), texts.len());
        for long in [
            "function",
            "multifunction",
            "abcdefgh",
            "\u{e9}t\u{e9}t\u{e9}",
        ] {
            let key = name_key(long);
            assert!(is_long(key), "{long}");
            assert!(!seen.contains_key(&key));
        }
    }

    #[test]
    fn a_scope_indexes_only_its_document_and_ends() {
        let a = roxmltree::Document::parse("<r><x/><y><x/></y></r>").unwrap();
        let b = roxmltree::Document::parse("<r><x/></r>").unwrap();
        let count = |doc: &roxmltree::Document<'_>| {
            with_group_id(doc.root_element(), group("x"), <[u32]>::len)
        };
        assert_eq!(count(&a), None);
        {
            let _scope = Scope::start(a.root_element());
            assert_eq!(count(&a), Some(2));
            assert_eq!(count(&b), None);
        }
        assert_eq!(count(&a), None);
    }
}
