//! Where libvirt writes each child element, which children may occur only once, and the
//! libvirt release that introduced an element: lookups into the generated
//! `placement_table` (see scripts/placement/README.md).
//!
//! A parent is named by its element path from `<domain>` (`domain/devices/disk`). Where a
//! `type` orders its children differently (`<interface type='hostdev'>` writes `<driver>`
//! before `<source>`), that type has a table of its own
//! (`domain/devices/interface[@type='hostdev']`) and the untyped table serves every other.

use roxmltree::Node;

use super::placement_table::PARENTS;

/// The children libvirt formats under one parent.
#[derive(Debug)]
pub struct Parent {
    pub key: &'static str,
    pub children: &'static [Child],
}

#[derive(Debug)]
pub struct Child {
    pub name: &'static str,
    /// Position in libvirt's output: lower ranks come first. `None`: the schema allows the
    /// element here but libvirt's output never showed where it goes.
    pub rank: Option<usize>,
    /// The schema allows at most one such child under this parent.
    pub once: bool,
    /// The libvirt release that introduced the element here, where known.
    pub since: Option<&'static str>,
}

impl Parent {
    pub fn child(&self, name: &str) -> Option<&'static Child> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn rank(&self, name: &str) -> Option<usize> {
        self.child(name).and_then(|c| c.rank)
    }

    /// Whether libvirt's schema allows at most one `<name>` here.
    pub fn once(&self, name: &str) -> bool {
        self.child(name).is_some_and(|c| c.once)
    }
}

/// The table of the parent at `path` whose `type` attribute is `ty`.
pub fn table(path: &str, ty: Option<&str>) -> Option<&'static Parent> {
    let find = |key: &str| {
        PARENTS
            .binary_search_by(|p| p.key.cmp(key))
            .ok()
            .and_then(|i| PARENTS.get(i))
    };
    ty.and_then(|t| find(&format!("{path}[@type='{t}']")))
        .or_else(|| find(path))
}

/// The element path of `node` from `<domain>` (`domain/features/hyperv`); `None` for a
/// node that is not an element of a domain document, or that lies in a namespace.
pub fn path_of(node: Node<'_, '_>) -> Option<String> {
    let mut names = Vec::new();
    let mut current = Some(node);
    while let Some(n) = current {
        if n.is_root() {
            break;
        }
        if !n.is_element() || n.tag_name().namespace().is_some() {
            return None;
        }
        names.push(n.tag_name().name());
        current = n.parent();
    }
    names.reverse();
    (names.first() == Some(&"domain")).then(|| names.join("/"))
}

/// The table for an element of the document.
pub fn table_of(node: Node<'_, '_>) -> Option<&'static Parent> {
    table(&path_of(node)?, node.attribute("type"))
}

/// The libvirt release that introduced `<child>` under the parent at `path`, where known.
pub fn since(path: &str, child: &str) -> Option<&'static str> {
    table(path, None)?.child(child)?.since
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_unique_so_lookups_find_them() {
        for pair in PARENTS.windows(2) {
            assert!(
                pair[0].key < pair[1].key,
                "{} / {}",
                pair[0].key,
                pair[1].key
            );
        }
        for parent in PARENTS {
            assert!(std::ptr::eq(table(parent.key, None).unwrap(), parent));
        }
    }

    #[test]
    fn domain_order_and_cardinality() {
        let domain = table("domain", None).unwrap();
        let rank = |n| domain.rank(n).unwrap();
        assert!(rank("name") < rank("memory"));
        assert!(rank("os") < rank("features"));
        assert!(rank("features") < rank("cpu"));
        assert!(rank("cpu") < rank("clock"));
        assert!(rank("clock") < rank("devices"));
        for once in ["os", "features", "cpu", "clock", "devices", "name"] {
            assert!(domain.once(once), "{once}");
        }
        assert!(!domain.once("seclabel"));
        let devices = table("domain/devices", None).unwrap();
        assert!(!devices.once("disk"));
        assert!(devices.rank("disk") < devices.rank("interface"));
        let clock = table("domain/clock", None).unwrap();
        assert!(!clock.once("timer"));
        assert!(table("domain/features", None).unwrap().once("hyperv"));
    }

    #[test]
    fn typed_tables_fall_back_to_the_untyped_one() {
        let hostdev = table("domain/devices/interface", Some("hostdev")).unwrap();
        assert_eq!(hostdev.key, "domain/devices/interface[@type='hostdev']");
        assert!(hostdev.rank("driver") < hostdev.rank("source"));
        let other = table("domain/devices/interface", Some("direct")).unwrap();
        assert_eq!(other.key, "domain/devices/interface");
        assert!(other.once("mac"));
        assert!(other.rank("source") < other.rank("model"));
        assert!(other.rank("model") < other.rank("driver"));
        assert!(table("domain/no-such-element", None).is_none());
    }

    #[test]
    fn since_where_known() {
        assert_eq!(since("domain/features/hyperv", "stimer"), Some("1.3.3"));
        assert_eq!(since("domain/features/hyperv", "relaxed"), Some("1.0.0"));
        assert_eq!(since("domain", "name"), None);
    }

    #[test]
    fn paths_of_nodes() {
        let doc = roxmltree::Document::parse(
            "<domain xmlns:q='urn:q'><features><hyperv/></features><q:x><y/></q:x></domain>",
        )
        .unwrap();
        let hyperv = doc
            .descendants()
            .find(|n| n.has_tag_name("hyperv"))
            .unwrap();
        assert_eq!(path_of(hyperv).as_deref(), Some("domain/features/hyperv"));
        let y = doc.descendants().find(|n| n.has_tag_name("y")).unwrap();
        assert_eq!(path_of(y), None);
        let other = roxmltree::Document::parse("<network><ip/></network>").unwrap();
        assert_eq!(path_of(other.root_element()), None);
    }
}
