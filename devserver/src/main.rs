//! `devserver`: runs the identity-provider emulator on 127.0.0.1 and prints
//! one line, `devserver listening on http://127.0.0.1:PORT`, when ready.

use std::io::Write as _;
use std::process::ExitCode;

use devserver::{Command, USAGE, parse_args, spawn};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(c)) => c,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("devserver: {e}");
            return ExitCode::from(2);
        }
    };
    let (addr, handle) = match spawn(config).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("devserver: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "devserver listening on http://{addr}");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    ExitCode::SUCCESS
}
