//! `stowaway`: one binary for every part of the service. This part is `scan`.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod output;
mod scan;

#[derive(Parser)]
#[command(name = "stowaway", version, about = "Finds what hides inside images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect files and directories (recursively; `-` reads standard input). Exit code 0 when all
    /// are clean, 1 when anything is suspicious, 2 when any file could not be read.
    Scan(scan::ScanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan::run(args),
    }
}
