//! The `fengqiao` binary: parses the command line and hands over to `cli`.

fn main() -> std::process::ExitCode {
    fengqiao_api::cli::main()
}
