//! The `virt-lint` binary: everything happens in [`virt_lint::cli`].

fn main() -> std::process::ExitCode {
    virt_lint::cli::main()
}
