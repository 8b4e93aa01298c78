//! Writes a generated rule pack for the startup benchmark:
//! `cargo run --release --example gen_rules -- N DIR` writes `DIR/generated.yaml` with N
//! rules (see `benches/gen_rules.rs`).

#[path = "../benches/gen_rules.rs"]
mod gen_rules;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: gen_rules N DIR";
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| panic!("{usage}")));
    std::fs::create_dir_all(&dir).expect("create the output folder");
    std::fs::write(dir.join("generated.yaml"), gen_rules::generated_rules(n))
        .expect("write the rule file");
}
