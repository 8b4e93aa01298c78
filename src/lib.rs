//! virt-lint: lint and fix libvirt domain XML.
pub mod selector;
