//! Conditions: the `when:` tree of a rule (`all`, `any`, `not`, `present`, `absent`,
//! value tests, `is: <definition>`) and its evaluation against a context node.

use crate::selector::Selector;
use regex::Regex;

#[derive(Debug, Clone)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Present(Selector),
    Absent(Selector),
    /// A named definition, by its index in [`Definitions`].
    Is(usize),
    /// True when at least one item the selector picks passes the test.
    Value(Selector, ValueTest),
}

#[derive(Debug, Clone)]
pub enum ValueTest {
    Equals(String),
    In(Vec<String>),
    Matches(Regex),
    Compare(Comparison, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    GreaterThan,
    AtLeast,
    LessThan,
    AtMost,
}

impl ValueTest {
    pub fn accepts(&self, value: &str) -> bool {
        match self {
            ValueTest::Equals(expected) => value == expected,
            ValueTest::In(list) => list.iter().any(|v| v == value),
            ValueTest::Matches(regex) => regex.is_match(value),
            ValueTest::Compare(op, bound) => match value.trim().parse::<f64>() {
                Ok(n) => match op {
                    Comparison::GreaterThan => n > *bound,
                    Comparison::AtLeast => n >= *bound,
                    Comparison::LessThan => n < *bound,
                    Comparison::AtMost => n <= *bound,
                },
                Err(_) => false,
            },
        }
    }
}

/// The named conditions every rule file may refer to with `is:`.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub names: Vec<String>,
    pub conditions: Vec<Condition>,
}

impl Definitions {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

impl Condition {
    pub fn eval(&self, ctx: roxmltree::Node<'_, '_>, defs: &Definitions) -> bool {
        match self {
            Condition::All(list) => list.iter().all(|c| c.eval(ctx, defs)),
            Condition::Any(list) => list.iter().any(|c| c.eval(ctx, defs)),
            Condition::Not(inner) => !inner.eval(ctx, defs),
            Condition::Present(selector) => selector.exists(ctx),
            Condition::Absent(selector) => !selector.exists(ctx),
            Condition::Is(index) => defs.conditions[*index].eval(ctx, defs),
            Condition::Value(selector, test) => selector
                .select(ctx)
                .iter()
                .any(|item| test.accepts(&item.string_value())),
        }
    }

    /// The definitions this condition names directly or through nested conditions.
    pub fn referenced_definitions(&self, out: &mut Vec<usize>) {
        match self {
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.referenced_definitions(out))
            }
            Condition::Not(inner) => inner.referenced_definitions(out),
            Condition::Is(index) => out.push(*index),
            Condition::Present(_) | Condition::Absent(_) | Condition::Value(..) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::Namespaces;

    fn sel(s: &str) -> Selector {
        Selector::parse(s, &Namespaces::builtin()).unwrap()
    }

    #[test]
    fn combinators_and_value_tests() {
        let xml = "<domain type='kvm'><memory unit='KiB'>4194304</memory><os><type arch='x86_64'>hvm</type></os></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let defs = Definitions::default();
        let arch = Condition::Value(
            sel("os/type/@arch"),
            ValueTest::In(vec!["i686".into(), "x86_64".into()]),
        );
        assert!(arch.eval(root, &defs));
        let big = Condition::Value(
            sel("memory"),
            ValueTest::Compare(Comparison::GreaterThan, 1e6),
        );
        assert!(big.eval(root, &defs));
        let small = Condition::Value(sel("memory"), ValueTest::Compare(Comparison::AtMost, 1e6));
        assert!(!small.eval(root, &defs));
        let not_number = Condition::Value(
            sel("os/type"),
            ValueTest::Compare(Comparison::LessThan, 1.0),
        );
        assert!(!not_number.eval(root, &defs));
        let all = Condition::All(vec![arch.clone(), Condition::Absent(sel("features"))]);
        assert!(all.eval(root, &defs));
        let any = Condition::Any(vec![
            Condition::Present(sel("features")),
            Condition::Not(Box::new(arch)),
        ]);
        assert!(!any.eval(root, &defs));
        let re = Condition::Value(
            sel("@type"),
            ValueTest::Matches(Regex::new("^(kvm|qemu)$").unwrap()),
        );
        assert!(re.eval(root, &defs));
        let eq = Condition::Value(sel("os/type"), ValueTest::Equals("hvm".into()));
        assert!(eq.eval(root, &defs));
    }

    #[test]
    fn definitions_are_looked_up_by_index() {
        let doc = roxmltree::Document::parse("<domain><features/></domain>").unwrap();
        let defs = Definitions {
            names: vec!["has-features".into()],
            conditions: vec![Condition::Present(sel("features"))],
        };
        assert!(Condition::Is(0).eval(doc.root_element(), &defs));
        assert_eq!(defs.index("has-features"), Some(0));
    }
}
